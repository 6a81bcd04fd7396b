// DescribeGroups (key 15): state, protocol and members of each group, from storage (after
// the same housekeeping any broker does when it touches a group). As Kafka: an unknown
// group is "Dead" with no error (v0-5); member metadata, assignments and the protocol
// name are shown for Stable groups only.
#include "hako/protocol/messages/describe_groups.h"

#include "broker/group/coordinator.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

namespace {
// Without an authorizer Kafka grants every operation a GROUP supports: READ(3) DELETE(6)
// DESCRIBE(8), as a bit field.
constexpr std::int32_t all_group_operations = (1 << 3) | (1 << 6) | (1 << 8);
}  // namespace

awaitable<std::optional<std::string>> handle_describe_groups(request_context& ctx,
                                                             protocol::reader& r) {
    protocol::describe_groups::request req;
    req.decode(r, ctx.version());
    const auto v = ctx.version();
    protocol::describe_groups::response resp;
    for (const auto& id : req.groups) {
        auto& g = resp.groups.emplace_back();
        g.group_id = id;
        g.authorized_operations =
            v >= 3 && req.include_authorized_operations ? all_group_operations : INT32_MIN;
        if (id.empty()) {
            g.error_code = code(protocol::error_code::invalid_group_id);
            continue;
        }
        auto d = co_await ctx.b.groups().describe(id);
        g.error_code = code(d.error);
        g.group_state = std::string(group::state_name(d.current));
        g.protocol_type = d.protocol_type;
        g.protocol_data = d.protocol_name;
        for (auto& m : d.members) {
            auto& gm = g.members.emplace_back();
            gm.member_id = m.member_id;
            gm.group_instance_id = m.group_instance_id;
            gm.client_id = m.client_id;
            gm.client_host = m.client_host;
            gm.member_metadata = std::move(m.metadata);
            gm.member_assignment = std::move(m.assignment);
        }
    }
    co_return encode_body(resp, v);
}

}  // namespace hako::broker
