// Metadata (key 3): live brokers, the controller (this broker), and topics with their
// partitions. Topics may be auto-created here, as Kafka does.
#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "hako/protocol/messages/metadata.h"

namespace hako::broker {

namespace {

template <class Topic>
void fill_topic(Topic& t, const storage::topic_info& info,
                const std::vector<storage::broker_info>& brokers) {
    t.error_code = code(protocol::error_code::none);
    t.name = info.name;
    t.topic_id = info.id;
    for (std::int32_t p = 0; p < info.partitions; ++p) {
        auto& pp = t.partitions.emplace_back();
        pp.partition_index = p;
        pp.leader_id = leader_for(info.name, p, brokers);
        pp.leader_epoch = 0;
        pp.replica_nodes = {pp.leader_id};
        pp.isr_nodes = {pp.leader_id};
    }
}

}  // namespace

awaitable<std::optional<std::string>> handle_metadata(request_context& ctx, protocol::reader& r) {
    protocol::metadata::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();
    const auto& cfg = ctx.b.cfg();

    protocol::metadata::response resp;
    auto brokers = co_await store.live_brokers();
    for (const auto& b : brokers) {
        auto& rb = resp.brokers.emplace_back();
        rb.node_id = b.node_id;
        rb.host = b.host;
        rb.port = b.port;
        rb.rack = b.rack;
    }
    resp.cluster_id = cfg.cluster_id;
    resp.controller_id = cfg.node_id;

    // v0: an empty list means all topics; v1+: null means all, empty means none.
    bool all = !req.topics.has_value() || (ctx.version() == 0 && req.topics->empty());
    if (all) {
        for (const auto& info : co_await store.list_topics())
            fill_topic(resp.topics.emplace_back(), info, brokers);
        co_return encode_body(resp, ctx.version());
    }

    bool may_create = cfg.auto_create_topics && (ctx.version() < 4 || req.allow_auto_topic_creation);
    for (const auto& rt : *req.topics) {
        auto& t = resp.topics.emplace_back();
        std::optional<storage::topic_info> info;
        if (!rt.name.has_value() || rt.name->empty()) {
            // lookup by topic id (v10+)
            info = co_await store.describe_topic_by_id(rt.topic_id);
            if (!info) {
                t.error_code = code(protocol::error_code::unknown_topic_id);
                t.name = std::nullopt;
                t.topic_id = rt.topic_id;
                continue;
            }
        } else {
            const auto& name = *rt.name;
            if (!valid_topic_name(name)) {
                t.error_code = code(protocol::error_code::invalid_topic_exception);
                t.name = name;
                continue;
            }
            info = co_await store.describe_topic(name);
            if (!info && may_create) {
                storage::topic_info created{name, {}, cfg.default_partitions, {}};
                auto ec = co_await store.create_topic(created);
                if (ec == protocol::error_code::none)
                    info = created;
                else
                    info = co_await store.describe_topic(name);  // lost a creation race
            }
            if (!info) {
                t.error_code = code(protocol::error_code::unknown_topic_or_partition);
                t.name = name;
                continue;
            }
        }
        fill_topic(t, *info, brokers);
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
