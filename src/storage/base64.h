#pragma once
// Standard base64 (RFC 4648, with padding) for bytes that must travel as text: headers
// that are not UTF-8 in PostgreSQL's jsonb, opaque state in the S3 engine's JSON documents.
#include <string>
#include <string_view>

namespace hako::storage {

std::string base64_encode(std::string_view in);
std::string base64_decode(std::string_view in);  // throws std::runtime_error on bad input

}  // namespace hako::storage
