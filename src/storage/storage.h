#pragma once
// storage::engine — the only place durable state is read or written (design.md §5).
//
// Every method is a coroutine on the broker's executor. Engines may cache, but a cache is
// never the truth: two brokers on one storage must see the same log. Produce hands over
// one validated v2 batch; the engine assigns its offsets by patching the base offset.
// Byte engines (memory, s3) return stored batches unchanged; row engines (sqlite,
// postgres) rebuild them from rows on fetch — same offsets, records, timestamps and
// producer fields, uncompressed, with a fresh CRC.
//
// Threading: the broker runs one io_context thread per process today; engines are called
// only from that thread unless they say otherwise.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/error_code.h"
#include "protocol/record_batch.h"
#include "protocol/wire.h"

namespace hako::storage {

using boost::asio::awaitable;
using protocol::error_code;

using config_map = std::map<std::string, std::string>;

struct topic_info {
    std::string name;
    protocol::uuid id{};
    std::int32_t partitions = 0;
    config_map configs;  // only explicitly set configs; defaults live in the broker
};

struct broker_info {
    std::int32_t node_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;
};

enum class isolation : std::int8_t { read_uncommitted = 0, read_committed = 1 };

struct partition_offsets {
    error_code error = error_code::none;
    std::int64_t log_start = 0;
    std::int64_t high_watermark = 0;
    std::int64_t last_stable = 0;
};

// One batch to append. The broker has already validated it (CRC, magic, counts, size,
// timestamps) and set LogAppendTime when the topic asks for it. With producer_id >= 0
// the engine checks and records its sequence (producer_state.h) in the same transaction
// as the append: a retried batch is answered with its original offset, not appended.
struct append_request {
    std::string topic;
    std::int32_t partition = 0;
    // Exactly one record batch, base offset still 0: usually a slice of the Produce
    // request's frame (no copy); an engine may keep it (the frame lives as long as it).
    protocol::shared_bytes batch;
    std::int32_t record_count = 0;
    std::int64_t max_timestamp = -1;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    bool transactional = false;
};

struct append_result {
    error_code error = error_code::none;
    std::int64_t base_offset = -1;
    std::int64_t log_start = 0;
};

struct aborted_transaction {
    std::int64_t producer_id = 0;
    std::int64_t first_offset = 0;
};

struct fetch_result {
    error_code error = error_code::none;
    std::int64_t high_watermark = -1;
    std::int64_t last_stable = -1;
    std::int64_t log_start = -1;
    std::string records;  // concatenated whole batches
    std::vector<aborted_transaction> aborted;
};

struct timestamp_lookup {
    error_code error = error_code::none;
    std::int64_t offset = -1;     // -1 when no record is at or after the timestamp
    std::int64_t timestamp = -1;  // the found record's timestamp
};

// What the periodic maintenance task asks of one partition, from the topic's configs.
struct retention_policy {
    std::int64_t now_ms = 0;
    std::int64_t retention_ms = -1;     // delete batches whose newest record is older; -1 none
    std::int64_t retention_bytes = -1;  // keep at most this many bytes of batches; -1 none
    bool compact = false;               // keep only the newest record per key
    std::int64_t delete_retention_ms = 86400000;  // compacted tombstones live this long
    std::int64_t min_compaction_lag_ms = 0;       // records younger than this stay as is
};

// A group's coordinator state, opaque to storage (the broker's group coordinator owns
// its format), with a version for compare-and-swap: any broker may load it, change it and
// store it back only if nobody else stored in between.
struct group_state {
    std::string group_id;
    std::string data;
    std::int64_t version = 0;  // 0: the group does not exist
};

struct committed_offset {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = -1;
    std::int32_t leader_epoch = -1;
    std::optional<std::string> metadata;
    std::int64_t commit_timestamp = -1;
};

// Called after an append commits, so long-polling fetches can wake (on this broker and,
// for shared engines, on others through the engine's own notification channel).
using change_listener = std::function<void(const std::string& topic, std::int32_t partition)>;

class engine {
public:
    virtual ~engine() = default;

    // --- cluster ---------------------------------------------------------------------
    virtual awaitable<void> register_broker(const broker_info& self, std::int64_t lease_ms) = 0;
    virtual awaitable<std::vector<broker_info>> live_brokers() = 0;

    // --- topics ----------------------------------------------------------------------
    // create: fills topic.id; TOPIC_ALREADY_EXISTS when the name is taken.
    virtual awaitable<error_code> create_topic(topic_info& topic) = 0;
    // Deletes the topic, its log, and every group's committed offsets for it.
    virtual awaitable<error_code> delete_topic(std::string_view name) = 0;
    virtual awaitable<std::vector<topic_info>> list_topics() = 0;
    virtual awaitable<std::optional<topic_info>> describe_topic(std::string_view name) = 0;
    virtual awaitable<std::optional<topic_info>> describe_topic_by_id(const protocol::uuid&) = 0;
    // The same for the hot path (Produce, Fetch: once per request): an engine whose
    // storage is remote may answer from a copy confirmed within its poll interval, so a
    // change made through another broker is seen after at most that long (one made
    // through this instance at once). The others answer as describe_topic does.
    virtual awaitable<std::optional<topic_info>> describe_topic_recent(std::string_view name) {
        return describe_topic(name);
    }
    virtual awaitable<std::optional<topic_info>> describe_topic_by_id_recent(
        const protocol::uuid& id) {
        return describe_topic_by_id(id);
    }
    // Replaces the topic's explicit configs as a whole.
    virtual awaitable<error_code> set_topic_configs(std::string_view name, config_map c) = 0;
    // Grows the topic to `total` partitions (INVALID_PARTITIONS if not larger).
    virtual awaitable<error_code> create_partitions(std::string_view name, std::int32_t total) = 0;

    // --- log -------------------------------------------------------------------------
    // Order: an append takes its place in its partition's order before its first
    // suspension, so appends started one after another on the broker's thread are applied
    // in that order even while earlier ones are still in flight (the broker pipelines a
    // connection's Produce requests on this; conformance: appends_keep_start_order).
    virtual awaitable<append_result> append(append_request req) = 0;
    virtual awaitable<fetch_result> fetch(std::string_view topic, std::int32_t partition,
                                          std::int64_t offset, std::int32_t max_bytes,
                                          isolation iso) = 0;
    virtual awaitable<partition_offsets> offsets(std::string_view topic,
                                                 std::int32_t partition) = 0;
    // First offset whose record timestamp is >= ts.
    virtual awaitable<timestamp_lookup> offset_for_timestamp(std::string_view topic,
                                                             std::int32_t partition,
                                                             std::int64_t ts) = 0;
    // Offset and timestamp of the record with the largest timestamp (ListOffsets -3).
    virtual awaitable<timestamp_lookup> max_timestamp(std::string_view topic,
                                                      std::int32_t partition) = 0;
    // Moves the log start to `offset` (-1 = high watermark); returns the new log start.
    virtual awaitable<partition_offsets> delete_records(std::string_view topic,
                                                        std::int32_t partition,
                                                        std::int64_t offset) = 0;

    // Applies retention (whole batches, moving the log start) and compaction (the newest
    // record per key survives at its original offset; tombstones older than
    // delete_retention_ms go) to one partition. The high watermark never moves.
    virtual awaitable<partition_offsets> maintain(std::string_view topic, std::int32_t partition,
                                                  const retention_policy& policy) = 0;

    // --- producers ---------------------------------------------------------------------
    // A cluster-wide unique producer id (idempotent and transactional producers).
    virtual awaitable<std::int64_t> allocate_producer_id() = 0;

    // --- consumer groups --------------------------------------------------------------
    virtual awaitable<std::optional<group_state>> load_group(std::string_view group_id) = 0;
    // Stores `data` if the stored version is still `expected_version` (0: create only if
    // absent). Returns the new version (never one the group had before, even across a
    // delete), or nullopt when another broker won the race.
    virtual awaitable<std::optional<std::int64_t>> store_group(std::string_view group_id,
                                                               std::string data,
                                                               std::int64_t expected_version) = 0;
    // Deletes the group and its committed offsets if the version still matches.
    virtual awaitable<bool> delete_group(std::string_view group_id,
                                         std::int64_t expected_version) = 0;
    virtual awaitable<std::vector<group_state>> list_groups() = 0;

    // Committed offsets of a group. They outlive the group's membership state.
    virtual awaitable<void> commit_offsets(std::string_view group_id,
                                           std::vector<committed_offset> offsets) = 0;
    // Every committed offset of the group (filter in the caller).
    virtual awaitable<std::vector<committed_offset>> fetch_offsets(std::string_view group_id) = 0;
    // Removes the given (topic, partition) offsets; an empty partition list for a topic
    // is not special: list each partition.
    virtual awaitable<void> delete_offsets(
        std::string_view group_id, std::vector<std::pair<std::string, std::int32_t>> parts) = 0;

    // How often a long-polling fetch re-reads storage for appends made by other broker
    // processes that cannot notify this one; zero when every append is seen locally.
    virtual std::chrono::milliseconds poll_interval() const { return std::chrono::milliseconds(0); }

    // What this process has written but not yet recorded where other brokers look first
    // (s3: objects past a partition's watermark document, which readers otherwise find by
    // following the chain, a GET per object): records what has waited at least `age`
    // (zero: everything). The broker calls it every save_interval() and once when
    // stopping, before shutdown(). Nothing acknowledged depends on it.
    virtual awaitable<void> save_pending(std::chrono::milliseconds /*age*/) { co_return; }
    // How often save_pending() is worth calling; zero: the engine holds nothing back.
    virtual std::chrono::milliseconds save_interval() const { return std::chrono::milliseconds(0); }

    // The broker is shutting down: end background work (a LISTEN connection, timers) so
    // the event loop can run dry. Calls after this may fail.
    virtual void shutdown() {}

    void set_change_listener(change_listener l) { listener_ = std::move(l); }

protected:
    void notify_change(const std::string& topic, std::int32_t partition) {
        if (listener_) listener_(topic, partition);
    }

private:
    change_listener listener_;
};

// Selects an engine by URL: memory://, (later) sqlite://, postgres://, s3://.
// Throws std::invalid_argument with a message a user can act on.
std::unique_ptr<engine> open_engine(std::string_view url, boost::asio::any_io_executor ex);

// Helpers shared by engines that keep batches as bytes.
namespace batches {
// First offset in `batch` with record timestamp >= ts (decompresses only when needed).
std::optional<std::pair<std::int64_t, std::int64_t>> find_timestamp(std::string_view batch,
                                                                    std::int64_t ts);
// Offset and timestamp of the batch's record with the largest timestamp.
std::pair<std::int64_t, std::int64_t> max_timestamp_record(std::string_view batch);
// Rebuilds `batch` (uncompressed, same offsets, timestamps and producer fields) keeping
// the records for which keep(offset, timestamp, record) is true; nullopt when none is
// kept. Returns the batch unchanged when every record is kept.
struct kept_batch {
    std::optional<std::string> bytes;
    bool changed = false;
};
kept_batch filter_batch(std::string_view batch,
                        const std::function<bool(std::int64_t, std::int64_t,
                                                 const protocol::record&)>& keep);
}  // namespace batches

protocol::uuid random_uuid();

}  // namespace hako::storage
