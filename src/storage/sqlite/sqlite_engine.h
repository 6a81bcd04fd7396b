#pragma once
// sqlite://path — the embedded default engine. One file holds topics, configs, the log
// (one row per record, headers in their own rows, plus one row per produced batch that
// keeps what a batch header carries), consumer groups and committed offsets. Several
// broker processes on one host may share the file: SQLite's write lock serializes them,
// and offsets are allocated inside the writing transaction.
//
// Durability: WAL with synchronous=FULL by default, so a produce acknowledged after the
// COMMIT survives kill -9 of the broker and a power cut. `?synchronous=NORMAL` trades
// that for speed (a commit then is durable only once checkpointed).

#include <memory>

#include "storage/sqlite/sqlite_worker.h"
#include "storage/storage.h"

namespace hako::storage::sqlite {

// The schema this binary understands; newer files are refused.
inline constexpr int schema_version = 4;

void migrate(db& d);  // creates or upgrades the schema; throws on a newer schema

open_options parse_url(std::string_view url);  // sqlite://path?busy_timeout=..&synchronous=..

class sqlite_engine final : public engine {
public:
    sqlite_engine(open_options opts, boost::asio::any_io_executor ex);

    awaitable<void> register_broker(const broker_info& self, std::int64_t lease_ms) override;
    awaitable<std::vector<broker_info>> live_brokers() override;

    awaitable<error_code> create_topic(topic_info& topic) override;
    awaitable<error_code> delete_topic(std::string_view name) override;
    awaitable<std::vector<topic_info>> list_topics() override;
    awaitable<std::optional<topic_info>> describe_topic(std::string_view name) override;
    awaitable<std::optional<topic_info>> describe_topic_by_id(const protocol::uuid& id) override;
    awaitable<error_code> set_topic_configs(std::string_view name, config_map c) override;
    awaitable<error_code> create_partitions(std::string_view name, std::int32_t total) override;

    awaitable<append_result> append(append_request req) override;
    awaitable<fetch_result> fetch(std::string_view topic, std::int32_t partition,
                                  std::int64_t offset, std::int32_t max_bytes,
                                  isolation iso) override;
    awaitable<partition_offsets> offsets(std::string_view topic, std::int32_t partition) override;
    awaitable<timestamp_lookup> offset_for_timestamp(std::string_view topic,
                                                     std::int32_t partition,
                                                     std::int64_t ts) override;
    awaitable<timestamp_lookup> max_timestamp(std::string_view topic,
                                              std::int32_t partition) override;
    awaitable<partition_offsets> delete_records(std::string_view topic, std::int32_t partition,
                                                std::int64_t offset) override;

    awaitable<partition_offsets> maintain(std::string_view topic, std::int32_t partition,
                                          const retention_policy& policy) override;
    awaitable<std::int64_t> allocate_producer_id() override;

    awaitable<std::optional<group_state>> load_group(std::string_view group_id) override;
    awaitable<std::optional<std::int64_t>> store_group(std::string_view group_id,
                                                       std::string data,
                                                       std::int64_t expected_version) override;
    awaitable<bool> delete_group(std::string_view group_id,
                                 std::int64_t expected_version) override;
    awaitable<std::vector<group_state>> list_groups() override;
    awaitable<void> commit_offsets(std::string_view group_id,
                                   std::vector<committed_offset> offsets) override;
    awaitable<std::vector<committed_offset>> fetch_offsets(std::string_view group_id) override;
    awaitable<void> delete_offsets(
        std::string_view group_id,
        std::vector<std::pair<std::string, std::int32_t>> parts) override;

    std::chrono::milliseconds poll_interval() const override { return std::chrono::milliseconds(50); }

private:
    boost::asio::any_io_executor ex_;
    std::unique_ptr<worker> worker_;
};

// Moves the log start forward to `start` and deletes the rows below it.
void trim_log(db& d, const std::string& topic, std::int32_t partition, std::int64_t start);

void compact_partition(db& d, const std::string& topic, std::int32_t partition,
                       const retention_policy& pol);

// Reads the partition's (log_start, next_offset); nullopt when it does not exist.
std::optional<std::pair<std::int64_t, std::int64_t>> read_partition(db& d, std::string_view topic,
                                                                    std::int32_t partition);

}  // namespace hako::storage::sqlite
