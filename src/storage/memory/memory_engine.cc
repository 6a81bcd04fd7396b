#include "storage/memory/memory_engine.h"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>
#include <unordered_map>

#include "protocol/record_batch.h"
#include "storage/producer_state.h"

namespace hako::storage {
namespace {

struct stored_batch {
    std::int64_t base_offset;
    std::int64_t last_offset;
    std::int64_t max_timestamp;
    protocol::shared_bytes bytes;  // as produced: a slice of its request frame
};

struct partition_log {
    std::int64_t log_start = 0;
    std::int64_t next_offset = 0;
    std::deque<stored_batch> batches;

    // index of the first batch whose last offset is >= offset
    std::size_t find(std::int64_t offset) const {
        auto it = std::lower_bound(
            batches.begin(), batches.end(), offset,
            [](const stored_batch& b, std::int64_t o) { return b.last_offset < o; });
        return static_cast<std::size_t>(it - batches.begin());
    }
    void trim_to(std::int64_t start) {
        log_start = std::max(log_start, start);
        while (!batches.empty() && batches.front().last_offset < log_start) batches.pop_front();
    }
};

struct topic_state {
    topic_info info;
    std::vector<partition_log> partitions;
};

class memory_engine final : public engine {
public:
    explicit memory_engine(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}

    awaitable<void> register_broker(const broker_info& self, std::int64_t) override {
        self_ = self;
        co_return;
    }
    awaitable<std::vector<broker_info>> live_brokers() override { co_return std::vector{self_}; }

    awaitable<error_code> create_topic(topic_info& topic) override {
        if (topics_.count(topic.name)) co_return error_code::topic_already_exists;
        topic.id = random_uuid();
        topic_state st{topic, {}};
        st.partitions.resize(static_cast<std::size_t>(topic.partitions));
        topics_.emplace(topic.name, std::move(st));
        co_return error_code::none;
    }

    awaitable<error_code> delete_topic(std::string_view name) override {
        auto it = topics_.find(std::string(name));
        if (it == topics_.end()) co_return error_code::unknown_topic_or_partition;
        topics_.erase(it);
        // committed offsets of a deleted topic go with it
        for (auto& [_, m] : offsets_)
            std::erase_if(m, [&](const auto& kv) { return kv.first.first == name; });
        std::erase_if(producers_, [&](const auto& kv) { return std::get<1>(kv.first) == name; });
        co_return error_code::none;
    }

    awaitable<std::vector<topic_info>> list_topics() override {
        std::vector<topic_info> out;
        for (auto& [_, t] : topics_) out.push_back(t.info);
        std::sort(out.begin(), out.end(),
                  [](const auto& a, const auto& b) { return a.name < b.name; });
        co_return out;
    }

    awaitable<std::optional<topic_info>> describe_topic(std::string_view name) override {
        auto it = topics_.find(std::string(name));
        if (it == topics_.end()) co_return std::nullopt;
        co_return it->second.info;
    }

    awaitable<std::optional<topic_info>> describe_topic_by_id(const protocol::uuid& id) override {
        for (auto& [_, t] : topics_)
            if (t.info.id == id) co_return t.info;
        co_return std::nullopt;
    }

    awaitable<error_code> set_topic_configs(std::string_view name, config_map c) override {
        auto it = topics_.find(std::string(name));
        if (it == topics_.end()) co_return error_code::unknown_topic_or_partition;
        it->second.info.configs = std::move(c);
        co_return error_code::none;
    }

    awaitable<error_code> create_partitions(std::string_view name, std::int32_t total) override {
        auto it = topics_.find(std::string(name));
        if (it == topics_.end()) co_return error_code::unknown_topic_or_partition;
        if (total <= it->second.info.partitions) co_return error_code::invalid_partitions;
        it->second.info.partitions = total;
        it->second.partitions.resize(static_cast<std::size_t>(total));
        co_return error_code::none;
    }

    awaitable<append_result> append(append_request req) override {
        auto* p = find(req.topic, req.partition);
        if (!p) co_return append_result{error_code::unknown_topic_or_partition};
        producer_entry* producer = nullptr;
        if (req.producer_id >= 0) {
            auto key = std::tuple{req.producer_id, req.topic, req.partition};
            auto it = producers_.find(key);
            auto verdict = check_sequence(
                it == producers_.end() ? std::nullopt : std::optional(it->second), req);
            if (verdict.error != error_code::none) co_return append_result{verdict.error};
            if (verdict.duplicate_of >= 0)
                co_return append_result{error_code::none, verdict.duplicate_of, p->log_start};
            producer = &producers_[key];
        }
        auto base = p->next_offset;
        if (producer) remember_batch(*producer, req, base);
        protocol::set_base_offset(req.batch, base);
        auto hdr = protocol::read_batch_header(req.batch);
        p->batches.push_back({base, base + hdr.last_offset_delta, hdr.max_timestamp,
                              std::move(req.batch)});
        p->next_offset = base + hdr.last_offset_delta + 1;
        append_result r{error_code::none, base, p->log_start};
        notify_change(req.topic, req.partition);
        co_return r;
    }

    awaitable<fetch_result> fetch(std::string_view topic, std::int32_t partition,
                                  std::int64_t offset, std::int32_t max_bytes,
                                  isolation) override {
        fetch_result r;
        auto* p = find(topic, partition);
        if (!p) {
            r.error = error_code::unknown_topic_or_partition;
            co_return r;
        }
        r.high_watermark = r.last_stable = p->next_offset;
        r.log_start = p->log_start;
        if (offset < p->log_start || offset > p->next_offset) {
            r.error = error_code::offset_out_of_range;
            co_return r;
        }
        // KIP-74: the first batch goes out even when it is larger than max_bytes.
        for (auto i = p->find(offset); i < p->batches.size(); ++i) {
            const auto& b = p->batches[i];
            if (!r.records.empty() &&
                r.records.size() + b.bytes.size() > static_cast<std::size_t>(std::max(max_bytes, 0)))
                break;
            r.records += b.bytes;
        }
        co_return r;
    }

    awaitable<partition_offsets> offsets(std::string_view topic, std::int32_t partition) override {
        auto* p = find(topic, partition);
        if (!p) co_return partition_offsets{error_code::unknown_topic_or_partition};
        co_return partition_offsets{error_code::none, p->log_start, p->next_offset,
                                    p->next_offset};
    }

    awaitable<timestamp_lookup> offset_for_timestamp(std::string_view topic,
                                                     std::int32_t partition,
                                                     std::int64_t ts) override {
        auto* p = find(topic, partition);
        if (!p) co_return timestamp_lookup{error_code::unknown_topic_or_partition};
        for (const auto& b : p->batches) {
            if (b.max_timestamp < ts) continue;
            if (b.base_offset >= p->log_start) {
                if (auto hit = batches::find_timestamp(b.bytes, ts))
                    co_return timestamp_lookup{error_code::none, hit->first, hit->second};
                continue;
            }
            // The log start falls inside this batch: only its live records count.
            auto h = protocol::read_batch_header(b.bytes);
            if (h.is_control()) continue;
            for (const auto& r : protocol::decode_records(b.bytes, 256u << 20)) {
                auto off = b.base_offset + r.offset_delta;
                auto t = h.log_append_time() ? h.max_timestamp : h.base_timestamp + r.timestamp_delta;
                if (off >= p->log_start && t >= ts) co_return timestamp_lookup{error_code::none, off, t};
            }
        }
        co_return timestamp_lookup{};
    }

    awaitable<timestamp_lookup> max_timestamp(std::string_view topic,
                                              std::int32_t partition) override {
        auto* p = find(topic, partition);
        if (!p) co_return timestamp_lookup{error_code::unknown_topic_or_partition};
        timestamp_lookup best;
        for (const auto& b : p->batches) {
            if (b.max_timestamp > best.timestamp || best.offset < 0) {
                auto [off, ts] = batches::max_timestamp_record(b.bytes);
                if (best.offset < 0 || ts > best.timestamp) best = {error_code::none, off, ts};
            }
        }
        co_return best;
    }

    awaitable<partition_offsets> delete_records(std::string_view topic, std::int32_t partition,
                                                std::int64_t offset) override {
        auto* p = find(topic, partition);
        if (!p) co_return partition_offsets{error_code::unknown_topic_or_partition};
        if (offset == -1) offset = p->next_offset;
        if (offset < 0 || offset > p->next_offset)
            co_return partition_offsets{error_code::offset_out_of_range};
        p->trim_to(offset);
        co_return partition_offsets{error_code::none, p->log_start, p->next_offset,
                                    p->next_offset};
    }

    awaitable<std::int64_t> allocate_producer_id() override { co_return next_producer_id_++; }

    awaitable<partition_offsets> maintain(std::string_view topic, std::int32_t partition,
                                          const retention_policy& pol) override {
        auto* p = find(topic, partition);
        if (!p) co_return partition_offsets{error_code::unknown_topic_or_partition};
        if (pol.retention_ms >= 0) {
            auto cutoff = pol.now_ms - pol.retention_ms;
            while (!p->batches.empty() && p->batches.front().max_timestamp < cutoff)
                p->trim_to(p->batches.front().last_offset + 1);
        }
        if (pol.retention_bytes >= 0) {
            std::int64_t total = 0;
            for (const auto& b : p->batches) total += static_cast<std::int64_t>(b.bytes.size());
            while (!p->batches.empty() && total > pol.retention_bytes) {
                total -= static_cast<std::int64_t>(p->batches.front().bytes.size());
                p->trim_to(p->batches.front().last_offset + 1);
            }
        }
        if (pol.compact) compact(*p, pol);
        co_return partition_offsets{error_code::none, p->log_start, p->next_offset, p->next_offset};
    }

    awaitable<std::optional<group_state>> load_group(std::string_view group_id) override {
        auto it = groups_.find(std::string(group_id));
        if (it == groups_.end()) co_return std::nullopt;
        co_return it->second;
    }

    awaitable<std::optional<std::int64_t>> store_group(std::string_view group_id,
                                                       std::string data,
                                                       std::int64_t expected_version) override {
        auto it = groups_.find(std::string(group_id));
        if ((it == groups_.end() ? 0 : it->second.version) != expected_version)
            co_return std::nullopt;  // and a failed store on an absent group creates nothing
        if (it == groups_.end()) it = groups_.emplace(std::string(group_id), group_state{}).first;
        auto& g = it->second;
        g.group_id = std::string(group_id);
        g.data = std::move(data);
        // Versions come from one counter so a deleted and re-created group never repeats
        // a version a stale coordinator may still hold.
        g.version = ++last_group_version_;
        co_return g.version;
    }

    awaitable<bool> delete_group(std::string_view group_id,
                                 std::int64_t expected_version) override {
        auto it = groups_.find(std::string(group_id));
        if (it == groups_.end() || it->second.version != expected_version) co_return false;
        groups_.erase(it);
        offsets_.erase(std::string(group_id));
        co_return true;
    }

    awaitable<std::vector<group_state>> list_groups() override {
        std::vector<group_state> out;
        for (auto& [_, g] : groups_)
            if (g.version > 0) out.push_back(g);
        co_return out;
    }

    awaitable<void> commit_offsets(std::string_view group_id,
                                   std::vector<committed_offset> offsets) override {
        auto& m = offsets_[std::string(group_id)];
        for (auto& o : offsets) {
            auto key = std::pair{o.topic, o.partition};
            m[key] = std::move(o);
        }
        co_return;
    }

    awaitable<std::vector<committed_offset>> fetch_offsets(std::string_view group_id) override {
        std::vector<committed_offset> out;
        auto it = offsets_.find(std::string(group_id));
        if (it != offsets_.end())
            for (auto& [_, o] : it->second) out.push_back(o);
        co_return out;
    }

    awaitable<void> delete_offsets(
        std::string_view group_id,
        std::vector<std::pair<std::string, std::int32_t>> parts) override {
        auto it = offsets_.find(std::string(group_id));
        if (it == offsets_.end()) co_return;
        for (auto& k : parts) it->second.erase(k);
        co_return;
    }

private:
    // Keeps the newest record per key (at its offset); tombstones that are the newest for
    // their key go once older than delete.retention.ms.
    static void compact(partition_log& p, const retention_policy& pol) {
        std::unordered_map<std::string, std::int64_t> newest;
        for (const auto& b : p.batches) {
            auto h = protocol::read_batch_header(b.bytes);
            if (h.is_control()) continue;
            for (const auto& r : protocol::decode_records(b.bytes, 256u << 20))
                if (r.key) newest[*r.key] = h.base_offset + r.offset_delta;
        }
        auto lag_cutoff = pol.now_ms - pol.min_compaction_lag_ms;
        auto tomb_cutoff = pol.now_ms - pol.delete_retention_ms;
        std::deque<stored_batch> out;
        for (auto& b : p.batches) {
            if (protocol::read_batch_header(b.bytes).is_control()) {
                out.push_back(std::move(b));
                continue;
            }
            auto kept = batches::filter_batch(
                b.bytes, [&](std::int64_t off, std::int64_t ts, const protocol::record& r) {
                    if (!r.key || ts >= lag_cutoff) return true;
                    if (newest[*r.key] != off) return false;
                    return r.value.has_value() || ts >= tomb_cutoff;
                });
            if (!kept.bytes) continue;
            if (kept.changed) b.bytes = std::move(*kept.bytes);
            out.push_back(std::move(b));
        }
        p.batches = std::move(out);
    }

    partition_log* find(std::string_view topic, std::int32_t partition) {
        auto it = topics_.find(std::string(topic));
        if (it == topics_.end() || partition < 0 ||
            partition >= static_cast<std::int32_t>(it->second.partitions.size()))
            return nullptr;
        return &it->second.partitions[static_cast<std::size_t>(partition)];
    }

    boost::asio::any_io_executor ex_;
    broker_info self_;
    std::unordered_map<std::string, topic_state> topics_;
    std::map<std::string, group_state> groups_;
    std::map<std::tuple<std::int64_t, std::string, std::int32_t>, producer_entry> producers_;
    std::int64_t next_producer_id_ = 0;
    std::int64_t last_group_version_ = 0;
    std::map<std::string, std::map<std::pair<std::string, std::int32_t>, committed_offset>>
        offsets_;
};

}  // namespace

std::unique_ptr<engine> make_memory_engine(boost::asio::any_io_executor ex) {
    return std::make_unique<memory_engine>(std::move(ex));
}

}  // namespace hako::storage
