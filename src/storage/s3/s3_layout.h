#pragma once
// Key names and the documents of the s3:// engine (README.md: "Layout"). Pure functions:
// no I/O, so the formats are unit-tested on their own.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire.h"
#include "storage/base64.h"
#include "storage/storage.h"

namespace hako::storage::s3 {

// One immutable object of a partition's log: offsets [base, last].
struct object_entry {
    std::int64_t base = 0;
    std::int64_t last = -1;
    std::int64_t max_timestamp = -1;
    std::int64_t bytes = 0;
    std::string name;  // file name inside the partition's folder
    bool operator==(const object_entry&) const = default;
};

// A rolled part of the object list, stored as its own immutable object.
struct segment_ref {
    std::int64_t first = 0;
    std::int64_t last = -1;
    std::string name;
    bool operator==(const segment_ref&) const = default;
};

// The watermark document of one partition (state.json), changed only by compare-and-swap.
struct partition_state {
    std::int64_t next = 0;
    std::int64_t log_start = 0;
    std::vector<segment_ref> segments;
    std::vector<object_entry> objects;
    std::map<std::int64_t, std::string> producers;  // producer id -> producer_entry::encode()
    // Objects and index segments below the log start (or replaced by compaction), kept
    // until their deadline (wall-clock ms) passes: a writer acknowledges a write once its
    // create-only PUT lands, and a key it may still write to is never freed sooner.
    struct retired_key {
        std::string name;
        std::int64_t due_ms = 0;
        bool operator==(const retired_key&) const = default;
    };
    std::vector<retired_key> retired;
};

std::string encode_state(const partition_state& s);
partition_state decode_state(std::string_view json);  // throws std::runtime_error

std::string encode_segment(const std::vector<object_entry>& entries);
std::vector<object_entry> decode_segment(std::string_view json);

std::string encode_topic(const topic_info& t);
topic_info decode_topic(std::string_view json);

std::string uuid_hex(const protocol::uuid& id);
std::optional<protocol::uuid> uuid_from_hex(std::string_view hex);


// "00000000000000001234": sorts like the number.
std::string offset_name(std::int64_t offset);

// A name or id as one path segment (no '/'): percent-encoded.
std::string key_segment(std::string_view s);
std::string key_segment_decode(std::string_view s);  // inverse of key_segment

}  // namespace hako::storage::s3
