// JoinGroup (key 11): the classic rebalance's first phase, run by the group coordinator
// (group/coordinator.h). The request may park until every member has rejoined.
// v0 has no rebalance timeout (the session timeout stands in, as in Kafka); v4+ use the
// MEMBER_ID_REQUIRED two-step join; v5+ carry group.instance.id (static membership).
#include "hako/protocol/messages/join_group.h"

#include "broker/group/coordinator.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

awaitable<std::optional<std::string>> handle_join_group(request_context& ctx, protocol::reader& r) {
    protocol::join_group::request req;
    req.decode(r, ctx.version());
    const auto v = ctx.version();

    protocol::join_group::response resp;
    if (req.group_id.empty()) {
        resp.error_code = code(protocol::error_code::invalid_group_id);
        resp.member_id = req.member_id;
    } else {
        group::join_request j;
        j.member_id = req.member_id;
        j.group_instance_id = v >= 5 ? req.group_instance_id : std::nullopt;
        j.client_id = ctx.header.client_id.value_or("");
        j.client_host = client_host(ctx.conn);
        j.session_timeout_ms = req.session_timeout_ms;
        j.rebalance_timeout_ms = v >= 1 ? req.rebalance_timeout_ms : req.session_timeout_ms;
        j.protocol_type = req.protocol_type;
        for (auto& p : req.protocols) j.protocols.push_back({p.name, std::move(p.metadata)});
        j.version = v;

        auto out = co_await ctx.b.groups().join(req.group_id, std::move(j));
        resp.error_code = code(out.error);
        resp.generation_id = out.generation;
        resp.protocol_type = out.protocol_type;
        resp.protocol_name = out.protocol_name;
        resp.leader = out.leader;
        resp.skip_assignment = out.skip_assignment;
        resp.member_id = out.member_id;
        for (auto& m : out.members) {
            auto& rm = resp.members.emplace_back();
            rm.member_id = m.member_id;
            rm.group_instance_id = m.group_instance_id;
            rm.metadata = std::move(m.metadata);
        }
    }
    // Before v7 the protocol name is not nullable (Kafka sends "" for "none").
    if (v < 7 && !resp.protocol_name) resp.protocol_name = "";
    co_return encode_body(resp, v);
}

}  // namespace hako::broker
