#pragma once
// Byte-level formats we speak with PostgreSQL without a driver between us:
// - the binary COPY stream (`COPY ... FROM STDIN (FORMAT binary)`): fixed header, one
//   tuple per row (int16 field count, then int32 length + big-endian bytes per field,
//   -1 for NULL), trailer -1. Produce writes records this way: one COPY per flush
//   instead of one INSERT per record;
// - binary result values (int2/4/8, one-dimensional arrays);
// - the jsonb form of Kafka headers (see README.md): an array of {"key", "value"} objects,
//   with "value_base64" when the bytes are not UTF-8 text jsonb can hold.
// Pure functions, unit-tested in tests/unit/pg_copy_test.cc.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/record_batch.h"
#include "storage/base64.h"

namespace hako::storage::postgres {

class copy_encoder {
public:
    copy_encoder();  // writes the header

    void begin_row(std::int16_t fields);
    void add_null();
    void add_i16(std::int16_t v);
    void add_i32(std::int32_t v);
    void add_i64(std::int64_t v);
    void add_bytes(std::string_view v);  // bytea and text alike: the raw bytes
    void add_bytes(const std::optional<std::string>& v);
    void add_jsonb(std::string_view json);  // jsonb binary format: version 1, then text

    // Appends the trailer and hands the stream over; the encoder is empty afterwards.
    std::string finish();
    std::size_t rows() const { return rows_; }

private:
    std::string buf_;
    std::size_t rows_ = 0;
};

// Big-endian integer of a binary result field (2, 4 or 8 bytes).
std::int64_t read_int(std::string_view field);

// Elements of a one-dimensional binary array (text[] or bytea[]); nullopt for NULL ones.
std::vector<std::optional<std::string>> read_array(std::string_view field);

// A text[] literal for a parameter in text format: {"a","b\"c"}.
std::string text_array_literal(const std::vector<std::string>& items);

bool valid_utf8(std::string_view s);
using storage::base64_encode;  // storage/base64.h

// Kafka headers as our jsonb array text; "" when there are none (stored as NULL).
std::string headers_json(const std::vector<protocol::record_header>& headers);

}  // namespace hako::storage::postgres
