#pragma once
// Idempotent-producer bookkeeping shared by every engine: per (producer id, partition),
// the epoch and the sequence ranges of the last five batches, as Kafka keeps them. The
// engine loads the entry, calls `check`, appends only when told to, then `remember`s the
// batch and stores the entry — all inside the same transaction as the append, so two
// brokers can never both accept the same sequence.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "protocol/error_code.h"
#include "storage/storage.h"

namespace hako::storage {

struct producer_entry {
    struct batch_seq {
        std::int32_t first_sequence;
        std::int32_t last_sequence;
        std::int64_t base_offset;
    };
    std::int16_t epoch = -1;
    std::deque<batch_seq> recent;  // oldest first, at most 5

    std::string encode() const;
    static producer_entry decode(std::string_view bytes);  // throws on corrupt input
};

struct sequence_verdict {
    protocol::error_code error = protocol::error_code::none;
    std::int64_t duplicate_of = -1;  // >= 0: already appended at this base offset
};

// Decides what to do with an idempotent batch given the stored entry (nullopt: unknown
// producer on this partition).
sequence_verdict check_sequence(const std::optional<producer_entry>& stored,
                                const append_request& req);

// Records an appended batch in the entry (new epochs reset it).
void remember_batch(producer_entry& entry, const append_request& req, std::int64_t base_offset);

}  // namespace hako::storage
