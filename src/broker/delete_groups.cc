// DeleteGroups (key 42): removes groups that have no members, with their committed
// offsets (GROUP_ID_NOT_FOUND / NON_EMPTY_GROUP otherwise). The removal is a
// compare-and-swap on the group's state, so a member joining at the same moment on
// another broker either keeps the group alive or finds it gone.
#include "hako/protocol/messages/delete_groups.h"

#include "broker/group/coordinator.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

awaitable<std::optional<std::string>> handle_delete_groups(request_context& ctx,
                                                           protocol::reader& r) {
    protocol::delete_groups::request req;
    req.decode(r, ctx.version());
    protocol::delete_groups::response resp;
    for (const auto& id : req.groups_names) {
        auto& res = resp.results.emplace_back();
        res.group_id = id;
        res.error_code = code(id.empty() ? protocol::error_code::invalid_group_id
                                         : co_await ctx.b.groups().remove(id));
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
