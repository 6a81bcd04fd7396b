// Heartbeat (key 12): keeps a member's session alive and tells it when a rebalance has
// begun (REBALANCE_IN_PROGRESS). v3+ carry group.instance.id.
#include "hako/protocol/messages/heartbeat.h"

#include "broker/group/coordinator.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

awaitable<std::optional<std::string>> handle_heartbeat(request_context& ctx, protocol::reader& r) {
    protocol::heartbeat::request req;
    req.decode(r, ctx.version());
    protocol::heartbeat::response resp;
    if (req.group_id.empty()) {
        resp.error_code = code(protocol::error_code::invalid_group_id);
    } else {
        auto instance = ctx.version() >= 3 ? req.group_instance_id : std::nullopt;
        resp.error_code = code(co_await ctx.b.groups().heartbeat(req.group_id, req.member_id,
                                                                 instance, req.generation_id));
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
