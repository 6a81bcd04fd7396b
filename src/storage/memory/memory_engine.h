#pragma once
// memory:// — process-local storage for tests and demos. Everything is lost when the
// process exits; a second broker process cannot share it.

#include <memory>

#include "storage/storage.h"

namespace hako::storage {

std::unique_ptr<engine> make_memory_engine(boost::asio::any_io_executor ex);

}  // namespace hako::storage
