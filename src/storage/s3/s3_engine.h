#pragma once
// The s3:// storage engine (README.md): a cluster's whole state in one bucket prefix,
// changed only by create-only and compare-and-swap writes, so any number of brokers can
// share it without consensus. Called on the broker's executor only.
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <list>
#include <map>
#include <memory>
#include <unordered_map>

#include "protocol/record_batch.h"
#include "storage/append_queue.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_layout.h"
#include "storage/storage.h"

namespace hako::storage::s3 {

struct url_options {
    std::string bucket;
    std::string prefix;  // without leading or trailing '/'
    std::optional<bool> path_style;
    std::chrono::milliseconds linger{0};
    std::size_t max_object_bytes = 8u << 20;
    std::chrono::milliseconds poll{200};
    std::size_t index_roll = 256;
    bool create_bucket = false;
    std::chrono::milliseconds request_timeout{10000};
    std::size_t cache_bytes = 64u << 20;
    std::string connect_to;  // "host:port" instead of DNS (client config::connect_to)
    std::optional<bool> sign_payload;  // client config::sign_payload (default: not on https)
    // Keys below the log start are deleted this long after it passed them (Kafka's
    // file.delete.delay.ms); a writer acknowledges after its object PUT only within half of
    // it from when it last knew the log's end. 0: delete at once, acknowledge after the
    // watermark swap (README.md, "Produce").
    std::chrono::milliseconds delete_delay{60000};
    // A writer stores its watermark after this many objects, or once the oldest unsaved
    // one is this old; readers find unsaved objects by probing past the watermark.
    std::size_t checkpoint_objects = 16;
    std::chrono::milliseconds checkpoint_interval{1000};
};

// s3://bucket/[prefix][?param=value&...]; throws std::invalid_argument.
url_options parse_url(std::string_view url);

// Wall-clock milliseconds since the epoch: lease expiries and retired keys' deadlines,
// which other brokers read.
inline std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// f(header, batch bytes) for each record batch of an object's bytes; throws
// std::runtime_error on a truncated batch.
template <class F>
void for_each_batch(std::string_view body, F f) {
    std::size_t pos = 0;
    while (pos + protocol::batch_header_size <= body.size()) {
        auto h = protocol::read_batch_header(body.substr(pos));
        auto n = h.total_size();
        if (n == 0 || pos + n > body.size()) throw std::runtime_error("s3: truncated batch object");
        f(h, body.substr(pos, n));
        pos += n;
    }
}

// An object's bytes: the batches it was written from (a writer caches them so, with no
// copy into one string) or the one string read back from S3. No batch spans two pieces.
struct object_body {
    std::vector<protocol::shared_bytes> pieces;
    std::size_t size() const {
        std::size_t n = 0;
        for (const auto& p : pieces) n += p.size();
        return n;
    }
    template <class F>
    void for_each_batch(F f) const {
        for (const auto& p : pieces) s3::for_each_batch(p, f);
    }
};

class s3_engine final : public engine {
public:
    s3_engine(url_options opts, config cfg, boost::asio::any_io_executor ex);
    ~s3_engine() override;

    awaitable<void> register_broker(const broker_info& self, std::int64_t lease_ms) override;
    awaitable<std::vector<broker_info>> live_brokers() override;

    awaitable<error_code> create_topic(topic_info& topic) override;
    awaitable<error_code> delete_topic(std::string_view name) override;
    awaitable<std::vector<topic_info>> list_topics() override;
    awaitable<std::optional<topic_info>> describe_topic(std::string_view name) override;
    awaitable<std::optional<topic_info>> describe_topic_by_id(const protocol::uuid&) override;
    awaitable<std::optional<topic_info>> describe_topic_recent(std::string_view name) override;
    awaitable<std::optional<topic_info>> describe_topic_by_id_recent(
        const protocol::uuid& id) override;
    awaitable<error_code> set_topic_configs(std::string_view name, config_map c) override;
    awaitable<error_code> create_partitions(std::string_view name, std::int32_t total) override;

    awaitable<append_result> append(append_request req) override;
    awaitable<fetch_result> fetch(std::string_view topic, std::int32_t partition,
                                  std::int64_t offset, std::int32_t max_bytes,
                                  isolation iso) override;
    awaitable<partition_offsets> offsets(std::string_view topic, std::int32_t partition) override;
    awaitable<timestamp_lookup> offset_for_timestamp(std::string_view topic, std::int32_t partition,
                                                     std::int64_t ts) override;
    awaitable<timestamp_lookup> max_timestamp(std::string_view topic,
                                              std::int32_t partition) override;
    awaitable<partition_offsets> delete_records(std::string_view topic, std::int32_t partition,
                                                std::int64_t offset) override;
    awaitable<partition_offsets> maintain(std::string_view topic, std::int32_t partition,
                                          const retention_policy& policy) override;

    awaitable<std::int64_t> allocate_producer_id() override;

    awaitable<std::optional<group_state>> load_group(std::string_view group_id) override;
    awaitable<std::optional<std::int64_t>> store_group(std::string_view group_id, std::string data,
                                                       std::int64_t expected_version) override;
    awaitable<bool> delete_group(std::string_view group_id, std::int64_t expected_version) override;
    awaitable<std::vector<group_state>> list_groups() override;
    awaitable<void> commit_offsets(std::string_view group_id,
                                   std::vector<committed_offset> offsets) override;
    awaitable<std::vector<committed_offset>> fetch_offsets(std::string_view group_id) override;
    awaitable<void> delete_offsets(std::string_view group_id,
                                   std::vector<std::pair<std::string, std::int32_t>> parts) override;

    std::chrono::milliseconds poll_interval() const override { return opts_.poll; }
    // Checkpoints partitions whose chain past the document is older than `age`.
    awaitable<void> save_pending(std::chrono::milliseconds age) override;
    std::chrono::milliseconds save_interval() const override { return opts_.checkpoint_interval; }
    void shutdown() override;

    client& s3() { return *client_; }  // for tests
    std::string key(std::string_view rel) const;

private:
    // A partition as this broker knows it: the watermark document as last read or written
    // (its ETag, "" = none yet, and its `next`), and `st`, that document plus the objects
    // found or written past it (the chain, linked by each object's last offset + 1).
    struct cached_state {
        partition_state st;
        std::string etag;
        std::int64_t stored_next = 0;
        std::chrono::steady_clock::time_point read_at{};
        // No key at or past st.next can be freed (by retention) before known_at plus
        // delete_delay: when the document was read, or our own object at the end created.
        std::chrono::steady_clock::time_point known_at{};
        std::chrono::steady_clock::time_point unsaved_since{};  // first object past the document
        std::chrono::steady_clock::time_point probed_at{};  // the chain last followed
        bool loaded = false;
        bool checkpointing = false;  // a background_checkpoint is running
        bool dropped = false;        // the topic was deleted here: store nothing more
        protocol::uuid topic_id{};   // the log's keys depend on the topic id only
    };
    using part_key = std::pair<std::string, std::int32_t>;  // topic id hex, partition

    awaitable<void> ready();  // checks (or creates) the bucket once
    // Every key under `prefix`, following continuation tokens; throws if a page fails.
    awaitable<std::vector<list_entry>> list_all(std::string prefix);
    awaitable<std::optional<topic_info>> topic_by_id(const protocol::uuid& id, bool trust_recent);
    // trust_recent: a cached copy confirmed by a read within poll_ms is returned as is.
    awaitable<std::optional<std::pair<topic_info, std::string>>> read_topic(
        std::string_view name, bool trust_recent = false);
    // The topic, if `partition` is one of its partitions.
    awaitable<std::optional<topic_info>> resolve(std::string_view topic, std::int32_t partition);
    // The same for appends and fetches, trusting a copy confirmed within poll_ms (a topic
    // deleted or grown through another broker is seen after at most poll_ms).
    awaitable<std::optional<topic_info>> resolve_recent(std::string_view topic,
                                                            std::int32_t partition);
    std::string part_prefix(const topic_info& t, std::int32_t partition) const;
    cached_state& state_slot(const topic_info& t, std::int32_t partition);
    std::shared_ptr<cached_state> state_ptr(const topic_info& t, std::int32_t partition);
    // Re-reads the watermark document (conditionally: 304 keeps the cache).
    awaitable<cached_state*> refresh(const topic_info& t, std::int32_t partition);
    // Takes `doc` as the stored document and keeps the chain past its `next`.
    static void adopt(cached_state& c, partition_state doc, std::string etag);
    // Follows the chain past st.next (a GET per object, 404 at the end).
    awaitable<void> probe(const topic_info& t, std::int32_t partition, cached_state& c);
    // refresh() then probe(): the partition as it is now, for reads that must not lag.
    awaitable<cached_state*> latest(const topic_info& t, std::int32_t partition);
    // Folds an object found at c.st.next into the view (and the object cache).
    void take_in(cached_state& c, const std::string& prefix, const std::string& name,
                 std::string body);
    // checkpoint() then purge_retired().
    awaitable<void> catch_up(const topic_info& t, std::int32_t partition, cached_state& c);
    // Stores the chain in the watermark document (swap, re-read and retry on a lost race).
    awaitable<void> checkpoint(const topic_info& t, std::int32_t partition, cached_state& c);
    // checkpoint() and purge_retired() started after an append, which does not wait for it.
    awaitable<void> background_checkpoint(topic_info t, std::int32_t partition);
    // Moves `keys` (names in the partition's folder) into the document's retired list.
    void retire(partition_state& st, std::vector<std::string> names) const;
    // Deletes the retired keys whose deadline has passed and drops them from the document.
    awaitable<void> purge_retired(const topic_info& t, std::int32_t partition, cached_state& c);
    // Stores `next` if the document is still `cur.etag`; false on a lost race.
    awaitable<bool> swap_state(const topic_info& t, std::int32_t partition, cached_state& cur,
                               partition_state next);
    // Moves the oldest object entries into an index segment when the list is long.
    awaitable<void> maybe_roll(const topic_info& t, std::int32_t partition, partition_state& st);
    // True when the watermark lists the object `name` at `base` (in a segment or not).
    awaitable<bool> lists_object(const topic_info& t, std::int32_t partition,
                                 const partition_state& st, std::int64_t base,
                                 const std::string& name);
    awaitable<std::vector<object_entry>> all_entries(const topic_info& t, std::int32_t partition,
                                                     const partition_state& st);
    awaitable<std::vector<object_entry>> segment_entries(const topic_info& t,
                                                         std::int32_t partition,
                                                         const segment_ref& seg);
    awaitable<std::shared_ptr<const object_body>> read_object(const topic_info& t,
                                                              std::int32_t partition,
                                                              const object_entry& e);
    void cache_object(const std::string& key, std::shared_ptr<const object_body> body);
    // Resolves the topic (resolve_recent), then writes the group.
    awaitable<void> flush(const std::string& topic, std::int32_t partition,
                          append_group& group);
    awaitable<void> flush(const topic_info& t, std::int32_t partition,
                          append_group& group);
    awaitable<void> delete_objects(std::vector<std::string> keys);

    url_options opts_;
    boost::asio::any_io_executor ex_;
    std::unique_ptr<client> client_;
    bool ready_ = false;
    std::map<std::string, std::pair<topic_info, std::string>> topics_;  // name -> (info, etag)
    // When each cached topic document was last confirmed by a read (appends trust it for
    // poll_ms instead of re-reading it per produce).
    std::map<std::string, std::chrono::steady_clock::time_point> topic_checked_;
    std::map<std::string, std::string> topic_names_;  // topic id (hex) -> name, immutable
    // Shared: a background checkpoint keeps its partition's state alive when the topic is
    // deleted meanwhile (it then sees `dropped`).
    std::map<part_key, std::shared_ptr<cached_state>> states_;
    append_queues appends_;
    std::map<std::string, std::vector<object_entry>> segments_;  // immutable: cached forever
    // Recently read or written objects (immutable), least recently used first.
    std::list<std::pair<std::string, std::shared_ptr<const object_body>>> lru_;
    std::unordered_map<std::string, decltype(lru_)::iterator> lru_index_;
    std::size_t lru_bytes_ = 0;
    std::int64_t pid_next_ = 0, pid_end_ = 0;
};

std::unique_ptr<engine> make_s3_engine(std::string_view url, boost::asio::any_io_executor ex);

}  // namespace hako::storage::s3
