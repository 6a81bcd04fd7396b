#pragma once
// postgres:// (or postgresql://) — records land as rows in a schema of their own
// (default `hako`): one row per record, headers as jsonb, one row per produced batch with
// what a batch header carries. Produce writes rows with binary COPY inside a transaction
// that holds the partition row lock; fetch reads rows up to the committed high watermark
// in one statement (one snapshot), so readers never see a hole or an uncommitted record.
// LISTEN/NOTIFY wakes long-polling fetches on every broker. See README.md here.

#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>

#include "storage/postgres/pg_pool.h"
#include "storage/append_queue.h"
#include "storage/storage.h"

namespace hako::storage::postgres {

inline constexpr int schema_version = 1;

struct url_options {
    std::string conninfo;        // what libpq gets: the URL minus our own parameters
    std::string schema = "hako";  // ?schema=
    std::size_t pool_size = 8;    // ?pool_size=
};

url_options parse_url(std::string_view url);
void migrate(const url_options& o);                // blocking; at engine open only
std::string schema_sql(const std::string& schema);  // every migration, for a DBA
std::string quote_ident(std::string_view s);
std::string channel_name(std::string_view schema);  // the NOTIFY channel

class pg_engine final : public engine {
public:
    pg_engine(url_options opts, boost::asio::any_io_executor ex);
    ~pg_engine() override;
    void shutdown() override;

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

    // NOTIFY wakes fetches at once; this re-read only covers a dropped LISTEN connection.
    std::chrono::milliseconds poll_interval() const override { return std::chrono::milliseconds(500); }

private:
    struct listener;    // the LISTEN connection's state, shared with its loop

    awaitable<result> query(std::string sql, params p);
    awaitable<void> flush(const std::string& topic, std::int32_t partition,
                          append_group& group);
    static awaitable<void> listen_loop(std::shared_ptr<listener> l);

    boost::asio::any_io_executor ex_;
    url_options opts_;
    std::unique_ptr<pool> pool_;
    std::shared_ptr<listener> listener_;
    append_queues appends_;
};

}  // namespace hako::storage::postgres
