// ListOffsets (key 2): offsets by timestamp. -1 latest (last stable offset under
// read_committed), -2 earliest, -3 the record with the largest timestamp (v7+), otherwise
// the first offset whose record timestamp is >= the one asked for.
#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "hako/protocol/messages/list_offsets.h"

namespace hako::broker {

namespace {
constexpr std::int64_t latest = -1;
constexpr std::int64_t earliest = -2;
constexpr std::int64_t max_timestamp = -3;
}  // namespace

awaitable<std::optional<std::string>> handle_list_offsets(request_context& ctx,
                                                          protocol::reader& r) {
    protocol::list_offsets::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();
    protocol::list_offsets::response resp;
    for (const auto& t : req.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition_index;
            rp.timestamp = -1;
            rp.offset = -1;
            rp.leader_epoch = 0;
            if (p.timestamp == latest || p.timestamp == earliest) {
                auto o = co_await store.offsets(t.name, p.partition_index);
                rp.error_code = code(o.error);
                if (o.error == protocol::error_code::none)
                    rp.offset = p.timestamp == earliest ? o.log_start
                                : req.isolation_level == 1 ? o.last_stable
                                                           : o.high_watermark;
            } else if (p.timestamp == max_timestamp && ctx.version() >= 7) {
                auto m = co_await store.max_timestamp(t.name, p.partition_index);
                rp.error_code = code(m.error);
                rp.offset = m.offset;
                rp.timestamp = m.timestamp;
            } else if (p.timestamp < 0) {
                // -4 (earliest local) and -5 (latest tiered) need v8/v9, not advertised
                rp.error_code = code(protocol::error_code::unsupported_version);
            } else {
                auto m = co_await store.offset_for_timestamp(t.name, p.partition_index, p.timestamp);
                rp.error_code = code(m.error);
                rp.offset = m.offset;
                rp.timestamp = m.timestamp;
            }
            if (ctx.version() == 0 && rp.offset >= 0) rp.old_style_offsets = {rp.offset};
        }
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
