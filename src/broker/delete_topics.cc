// DeleteTopics (key 20): by name (v0-5) or by name or id (v6). Follows Kafka's
// ControllerApis.deleteTopics: a v6 entry must name a topic by exactly one of name and id,
// each name or id at most once per request; unknown names answer
// UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID.
#include <map>

#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "hako/protocol/messages/delete_topics.h"

namespace hako::broker {

namespace {

using protocol::error_code;

struct target {
    std::optional<std::string> name;  // as asked
    protocol::uuid id{};              // as asked (zero when by name)
};

bool is_zero(const protocol::uuid& id) {
    for (auto b : id)
        if (b != 0) return false;
    return true;
}

}  // namespace

awaitable<std::optional<std::string>> handle_delete_topics(request_context& ctx,
                                                           protocol::reader& r) {
    protocol::delete_topics::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();

    std::vector<target> targets;
    if (ctx.version() >= 6)
        for (const auto& t : req.topics) targets.push_back({t.name, t.topic_id});
    else
        for (const auto& n : req.topic_names) targets.push_back({n, {}});

    std::map<std::string, int> names;
    std::map<protocol::uuid, int> ids;
    for (const auto& t : targets) {
        if (t.name) ++names[*t.name];
        if (!is_zero(t.id)) ++ids[t.id];
    }

    protocol::delete_topics::response resp;
    for (const auto& t : targets) {
        auto& rt = resp.responses.emplace_back();
        rt.name = t.name;
        rt.topic_id = t.id;
        rt.error_message = std::nullopt;
        auto fail = [&](error_code e, std::string message) {
            rt.error_code = code(e);
            rt.error_message = std::move(message);
        };
        const bool by_id = !is_zero(t.id);
        if (!t.name && !by_id) {
            fail(error_code::invalid_request, "Neither topic name nor id were specified.");
            continue;
        }
        if (t.name && by_id) {
            fail(error_code::invalid_request, "You may not specify both topic name and topic id.");
            continue;
        }
        if (by_id ? ids[t.id] > 1 : names[*t.name] > 1) {
            fail(error_code::invalid_request,
                 by_id ? "Duplicate topic id." : "Duplicate topic name.");
            continue;
        }
        std::optional<storage::topic_info> info;
        if (by_id)
            info = co_await store.describe_topic_by_id(t.id);
        else
            info = co_await store.describe_topic(*t.name);
        if (!info) {
            if (by_id)
                fail(error_code::unknown_topic_id, "This server does not host this topic ID.");
            else
                fail(error_code::unknown_topic_or_partition,
                     "This server does not host this topic-partition.");
            continue;
        }
        rt.name = info->name;
        rt.topic_id = info->id;
        auto ec = co_await store.delete_topic(info->name);
        if (ec == error_code::unknown_topic_or_partition && by_id) ec = error_code::unknown_topic_id;
        if (ec != error_code::none) fail(ec, std::string(protocol::error_name(ec)));
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
