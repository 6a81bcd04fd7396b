// OffsetDelete (key 47): removes a group's committed offsets for some partitions. An Empty
// group may lose any; a consumer group with members only those of topics no member
// subscribes to (GROUP_SUBSCRIBED_TO_TOPIC otherwise, read from the members'
// ConsumerProtocolSubscription); any other group with members answers NON_EMPTY_GROUP.
#include "hako/protocol/messages/offset_delete.h"

#include <map>

#include "broker/group/coordinator.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

namespace {
using protocol::error_code;
}  // namespace

awaitable<std::optional<std::string>> handle_offset_delete(request_context& ctx,
                                                           protocol::reader& r) {
    protocol::offset_delete::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();
    protocol::offset_delete::response resp;
    if (req.group_id.empty()) {
        resp.error_code = code(error_code::invalid_group_id);
        co_return encode_body(resp, ctx.version());
    }
    auto scope = co_await ctx.b.groups().offset_delete_scope_of(req.group_id);
    if (scope.error != error_code::none) {
        resp.error_code = code(scope.error);
        co_return encode_body(resp, ctx.version());
    }
    std::vector<std::pair<std::string, std::int32_t>> doomed;
    std::map<std::string, std::optional<storage::topic_info>> topics;
    for (const auto& t : req.topics) {
        if (!topics.count(t.name)) topics[t.name] = co_await store.describe_topic(t.name);
        const auto& info = topics[t.name];
        const bool subscribed =
            !scope.everything && (!scope.subscribed || scope.subscribed->count(t.name));
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition_index;
            if (!info || p.partition_index < 0 || p.partition_index >= info->partitions) {
                rp.error_code = code(error_code::unknown_topic_or_partition);
            } else if (subscribed) {
                rp.error_code = code(error_code::group_subscribed_to_topic);
            } else {
                doomed.emplace_back(t.name, p.partition_index);
            }
        }
    }
    if (!doomed.empty()) co_await store.delete_offsets(req.group_id, std::move(doomed));
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
