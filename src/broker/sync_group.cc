// SyncGroup (key 14): the leader hands in the assignment, followers park until it is in
// (group/coordinator.h). v5 checks the protocol type and name against the group's.
#include "hako/protocol/messages/sync_group.h"

#include "broker/group/coordinator.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

awaitable<std::optional<std::string>> handle_sync_group(request_context& ctx, protocol::reader& r) {
    protocol::sync_group::request req;
    req.decode(r, ctx.version());
    const auto v = ctx.version();

    protocol::sync_group::response resp;
    if (req.group_id.empty()) {
        resp.error_code = code(protocol::error_code::invalid_group_id);
        co_return encode_body(resp, v);
    }
    group::sync_request s;
    s.member_id = req.member_id;
    s.group_instance_id = v >= 3 ? req.group_instance_id : std::nullopt;
    s.generation = req.generation_id;
    if (v >= 5) {
        s.protocol_type = req.protocol_type;
        s.protocol_name = req.protocol_name;
    }
    for (auto& a : req.assignments)
        s.assignments.emplace_back(a.member_id, std::move(a.assignment));

    auto out = co_await ctx.b.groups().sync(req.group_id, std::move(s));
    resp.error_code = code(out.error);
    resp.protocol_type = out.protocol_type;
    resp.protocol_name = out.protocol_name;
    resp.assignment = std::move(out.assignment);
    co_return encode_body(resp, v);
}

}  // namespace hako::broker
