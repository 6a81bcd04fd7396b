#pragma once
// Record batches, magic v2 (wire notes §6-§8). Batches stay as bytes from Produce to
// Fetch: the broker reads the 61-byte header, validates, and patches the few fields it
// owns (base offset, leader epoch, LogAppendTime + CRC) in place. Records are decoded only
// when something needs them. Legacy magic 0/1 message sets are recognised and rejected
// with UNSUPPORTED_FOR_MESSAGE_FORMAT, never parsed (§9).
//
// Everything here works on caller-owned buffers and keeps no state: any thread may call
// it. Views returned by split_batches() borrow from the caller's buffer.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/compression.h"
#include "protocol/error_code.h"

namespace hako::protocol {

constexpr std::size_t batch_header_size = 61;
// base_offset + batch_length: the part of a batch that batch_length does not count.
constexpr std::size_t batch_log_overhead = 12;
constexpr std::int8_t batch_magic_v2 = 2;

// Attribute bits of a v2 batch.
namespace batch_attr {
constexpr std::int16_t compression_mask = 0x07;
constexpr std::int16_t log_append_time = 0x08;
constexpr std::int16_t transactional = 0x10;
constexpr std::int16_t control = 0x20;
constexpr std::int16_t delete_horizon = 0x40;  // KIP-534, set only by a log cleaner
}  // namespace batch_attr

struct batch_header {
    std::int64_t base_offset = 0;
    std::int32_t batch_length = 0;
    std::int32_t partition_leader_epoch = -1;
    std::int8_t magic = batch_magic_v2;
    std::uint32_t crc = 0;
    std::int16_t attributes = 0;
    std::int32_t last_offset_delta = 0;
    std::int64_t base_timestamp = -1;
    std::int64_t max_timestamp = -1;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::int32_t records_count = 0;

    // May hold 5-7 (not a named enumerator) for a corrupt batch; decode_records and
    // validate_produced_batch reject those.
    compression codec() const {
        return static_cast<compression>(attributes & batch_attr::compression_mask);
    }
    bool is_transactional() const { return attributes & batch_attr::transactional; }
    bool is_control() const { return attributes & batch_attr::control; }
    bool log_append_time() const { return attributes & batch_attr::log_append_time; }
    bool has_producer_id() const { return producer_id >= 0; }
    // Whole batch in bytes. Only meaningful once read_batch_header() accepted the header
    // (a negative batch_length gives 0 here).
    std::size_t total_size() const {
        return batch_length < 0 ? 0 : static_cast<std::size_t>(batch_length) + batch_log_overhead;
    }
    std::int64_t last_offset() const { return base_offset + last_offset_delta; }
    std::int64_t next_offset() const { return last_offset() + 1; }
};

// A batch the broker cannot accept or parse. `code` is what a Produce answer should carry
// (CORRUPT_MESSAGE, INVALID_RECORD, UNSUPPORTED_FOR_MESSAGE_FORMAT, ...).
struct batch_error : std::runtime_error {
    batch_error(error_code c, const std::string& message) : std::runtime_error(message), code(c) {}
    error_code code;
};

// Decodes the header fields without validating anything; nullopt if fewer than 61 bytes.
std::optional<batch_header> peek_batch_header(std::string_view bytes);

// Decodes and checks the header of the batch at the start of `bytes` (which may continue
// with more batches): magic must be 2 (else UNSUPPORTED_FOR_MESSAGE_FORMAT), the header
// complete, batch_length >= 49 and within `bytes`, records_count >= 0 (else
// CORRUPT_MESSAGE). Does not check the CRC.
batch_header read_batch_header(std::string_view bytes);

// True when the stored CRC matches bytes [21, total_size) of the batch at the start of
// `batch`. False, not an exception, for anything too short to hold its batch.
bool crc_ok(std::string_view batch);

// The CRC32C of every byte of `batch` (one whole batch), computed from the CRC the batch
// carries for bytes [21, end) and a pass over its first 21 bytes only. Trusts that CRC:
// call it on batches already checked (crc_ok) or built here.
std::uint32_t whole_batch_crc32c(std::string_view batch);

// Splits a concatenation of batches into one view per batch (framing only: CRCs and
// records are not checked). A trailing partial batch, which a size-limited Fetch response
// may end with (§11), is dropped when allow_truncated_tail, else CORRUPT_MESSAGE.
std::vector<std::string_view> split_batches(std::string_view records, bool allow_truncated_tail);

struct record_header {
    std::string key;  // never null on the wire
    std::optional<std::string> value;
    bool operator==(const record_header&) const = default;
};

struct record {
    std::int8_t attributes = 0;  // unused by Kafka, written as 0
    std::int64_t timestamp_delta = 0;
    std::int32_t offset_delta = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;  // nullopt = tombstone
    std::vector<record_header> headers;
    bool operator==(const record&) const = default;
};

// All records of one batch, decompressing first if needed (the decompressed size may not
// exceed max_uncompressed). Every length and count is validated; exactly records_count
// records must fill the record bytes. Any inconsistency throws batch_error with
// CORRUPT_MESSAGE; other header errors as read_batch_header(). The CRC is not checked.
// Record timestamps are base_timestamp + timestamp_delta, or max_timestamp for every
// record when the batch uses LogAppendTime.
std::vector<record> decode_records(std::string_view batch, std::size_t max_uncompressed);

struct batch_builder_options {
    std::int64_t base_offset = 0;
    std::int32_t partition_leader_epoch = -1;
    compression codec = compression::none;
    std::int64_t base_timestamp = -1;
    // Default: base_timestamp + the largest record timestamp_delta (base_timestamp when
    // there are no records). Set it for LogAppendTime batches.
    std::optional<std::int64_t> max_timestamp;
    // Default: the last record's offset_delta (0 with no records).
    std::optional<std::int32_t> last_offset_delta;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    bool transactional = false;
    bool control = false;
    bool log_append_time = false;
};

// Encodes a complete v2 batch with a correct CRC. Records are written as given (their
// offset and timestamp deltas included). Throws batch_error(MESSAGE_TOO_LARGE) if the
// batch would not fit batch_length's int32, codec_error on a compressor failure.
std::string build_batch(const batch_builder_options& options, const std::vector<record>& records);

// In-place patches for the broker's append path. Base offset and leader epoch lie outside
// the CRC, so the batch stays valid. set_log_append_time() sets attribute bit 3 and
// max_timestamp and recomputes the CRC. All throw batch_error if `batch` is not a valid
// v2 batch header (read_batch_header rules). `batch`: a std::string or shared_bytes.
void set_base_offset(std::span<char> batch, std::int64_t base_offset);
void set_partition_leader_epoch(std::span<char> batch, std::int32_t epoch);
void set_log_append_time(std::span<char> batch, std::int64_t timestamp);
// Recomputes and stores the CRC after any other change to bytes [21, end).
void update_crc(std::span<char> batch);

// The checks Kafka makes on a batch a client produces that need no topic config (§6):
// magic 2 and a complete header, exactly one batch in `batch`, CRC (CORRUPT_MESSAGE),
// a known codec, records_count > 0 and last_offset_delta + 1 == records_count, no
// control batch, producer_id >= 0 needs base_sequence >= 0 (INVALID_RECORD). Does not
// look at the records themselves; never throws.
error_code validate_produced_batch(std::string_view batch);

// The per-record part of Kafka's produce validation, which costs a decompression:
// records must decode (CORRUPT_MESSAGE) and their offset deltas be 0, 1, ...,
// records_count - 1 as a producer writes them (INVALID_RECORD). Never throws.
error_code validate_batch_records(std::string_view batch, std::size_t max_uncompressed);

// Control records (§8): the key is int16 version 0 + int16 type, the value of a
// transaction marker is int16 version 0 + int32 coordinator_epoch.
enum class control_type : std::int16_t { abort = 0, commit = 1 };

// A one-record control batch ending a transaction, base offset 0 (storage assigns it).
std::string build_txn_marker(std::int64_t producer_id, std::int16_t producer_epoch,
                             control_type type, std::int32_t coordinator_epoch,
                             std::int64_t timestamp);

// The type in a control record's key; nullopt if the key is missing or too short. Types
// other than abort/commit (KRaft-internal) come back as their raw value.
std::optional<control_type> read_control_type(const record& r);

}  // namespace hako::protocol
