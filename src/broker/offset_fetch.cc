// OffsetFetch (key 9): committed offsets, straight from storage (they outlive the group's
// membership state). v0-7 ask for one group (null topics from v2: every committed offset);
// v8+ for several groups at once. A partition without a committed offset answers -1 with
// empty metadata, as Kafka does. require_stable (v7+) has nothing to wait for until
// transactional offset commits exist.
#include "hako/protocol/messages/offset_fetch.h"

#include <map>

#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

namespace {

using protocol::error_code;

struct wanted_topic {
    std::string name;
    std::vector<std::int32_t> partitions;
};

struct answer_partition {
    std::int32_t partition;
    std::int64_t offset = -1;
    std::int32_t leader_epoch = -1;
    std::string metadata;
};

struct answer_topic {
    std::string name;
    std::vector<answer_partition> partitions;
};

// `topics` nullopt: every committed offset of the group.
awaitable<std::vector<answer_topic>> lookup(
    storage::engine& store, const std::string& group_id,
    const std::optional<std::vector<wanted_topic>>& topics) {
    auto committed = co_await store.fetch_offsets(group_id);
    std::map<std::pair<std::string, std::int32_t>, const storage::committed_offset*> by_key;
    for (const auto& c : committed) by_key[{c.topic, c.partition}] = &c;
    auto fill = [](answer_partition& a, const storage::committed_offset& c) {
        a.offset = c.offset;
        a.leader_epoch = c.leader_epoch;
        a.metadata = c.metadata.value_or("");
    };
    std::vector<answer_topic> out;
    if (!topics) {
        for (const auto& [key, c] : by_key) {
            if (out.empty() || out.back().name != key.first) out.push_back({key.first, {}});
            fill(out.back().partitions.emplace_back(answer_partition{key.second, -1, -1, {}}), *c);
        }
        co_return out;
    }
    for (const auto& t : *topics) {
        auto& at = out.emplace_back();
        at.name = t.name;
        for (auto p : t.partitions) {
            auto& ap = at.partitions.emplace_back(answer_partition{p, -1, -1, {}});
            if (auto it = by_key.find({t.name, p}); it != by_key.end()) fill(ap, *it->second);
        }
    }
    co_return out;
}

template <class Topic>
void emit(std::vector<Topic>& dst, std::vector<answer_topic>&& src) {
    for (auto& t : src) {
        auto& rt = dst.emplace_back();
        rt.name = std::move(t.name);
        for (auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition;
            rp.committed_offset = p.offset;
            rp.committed_leader_epoch = p.leader_epoch;
            rp.metadata = std::move(p.metadata);
            rp.error_code = 0;
        }
    }
}

}  // namespace

awaitable<std::optional<std::string>> handle_offset_fetch(request_context& ctx,
                                                          protocol::reader& r) {
    protocol::offset_fetch::request req;
    req.decode(r, ctx.version());
    const auto v = ctx.version();
    auto& store = ctx.b.store();
    protocol::offset_fetch::response resp;

    if (v < 8) {
        std::optional<std::vector<wanted_topic>> topics;
        if (req.topics) {
            topics.emplace();
            for (const auto& t : *req.topics) topics->push_back({t.name, t.partition_indexes});
        }
        if (req.group_id.empty()) {
            resp.error_code = code(error_code::invalid_group_id);
            if (v < 2 && topics) {
                // No top-level error before v2: report it per partition.
                emit(resp.topics, co_await lookup(store, req.group_id, topics));
                for (auto& t : resp.topics)
                    for (auto& p : t.partitions) p.error_code = code(error_code::invalid_group_id);
            }
            co_return encode_body(resp, v);
        }
        emit(resp.topics, co_await lookup(store, req.group_id, topics));
        co_return encode_body(resp, v);
    }

    for (const auto& g : req.groups) {
        auto& rg = resp.groups.emplace_back();
        rg.group_id = g.group_id;
        if (g.group_id.empty()) {
            rg.error_code = code(error_code::invalid_group_id);
            continue;
        }
        std::optional<std::vector<wanted_topic>> topics;
        if (g.topics) {
            topics.emplace();
            for (const auto& t : *g.topics) topics->push_back({t.name, t.partition_indexes});
        }
        emit(rg.topics, co_await lookup(store, g.group_id, topics));
    }
    co_return encode_body(resp, v);
}

}  // namespace hako::broker
