// LeaveGroup (key 13): members leave (a rebalance follows). v0-2 name one member; v3+ a
// batch, where an empty member id with a group.instance.id removes that static member
// (the admin "remove members from consumer group" call).
#include "hako/protocol/messages/leave_group.h"

#include "broker/group/coordinator.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

awaitable<std::optional<std::string>> handle_leave_group(request_context& ctx,
                                                         protocol::reader& r) {
    protocol::leave_group::request req;
    req.decode(r, ctx.version());
    const auto v = ctx.version();

    protocol::leave_group::response resp;
    if (req.group_id.empty()) {
        resp.error_code = code(protocol::error_code::invalid_group_id);
        co_return encode_body(resp, v);
    }
    std::vector<group::leave_member> who;
    if (v < 3) {
        who.push_back({req.member_id, std::nullopt});
    } else {
        for (const auto& m : req.members) who.push_back({m.member_id, m.group_instance_id});
    }
    auto out = co_await ctx.b.groups().leave(req.group_id, who);
    resp.error_code = code(out.error);
    if (v < 3) {
        // One member, one error: Kafka reports the member's error at the top level.
        if (out.error == protocol::error_code::none && !out.members.empty())
            resp.error_code = code(out.members.front());
    } else {
        for (std::size_t i = 0; i < out.members.size() && i < who.size(); ++i) {
            auto& m = resp.members.emplace_back();
            m.member_id = who[i].member_id;
            m.group_instance_id = who[i].group_instance_id;
            m.error_code = code(out.members[i]);
        }
    }
    co_return encode_body(resp, v);
}

}  // namespace hako::broker
