// ListGroups (key 16): every group in storage with its protocol type; v4+ report and
// filter by state, v5+ by type ("classic": every hako group is a classic group). Filters
// compare case-insensitively, as Kafka does.
#include "hako/protocol/messages/list_groups.h"

#include <algorithm>
#include <cctype>

#include "broker/group/coordinator.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

namespace {

constexpr std::string_view classic_type = "classic";

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool admitted(const std::vector<std::string>& filter, std::string_view value) {
    return filter.empty() || std::any_of(filter.begin(), filter.end(),
                                         [&](const std::string& f) { return iequals(f, value); });
}

}  // namespace

awaitable<std::optional<std::string>> handle_list_groups(request_context& ctx,
                                                         protocol::reader& r) {
    protocol::list_groups::request req;
    req.decode(r, ctx.version());
    const auto v = ctx.version();
    protocol::list_groups::response resp;
    for (auto& g : co_await ctx.b.groups().list()) {
        auto state = group::state_name(g.current);
        if (v >= 4 && !admitted(req.states_filter, state)) continue;
        if (v >= 5 && !admitted(req.types_filter, classic_type)) continue;
        auto& lg = resp.groups.emplace_back();
        lg.group_id = std::move(g.group_id);
        lg.protocol_type = std::move(g.protocol_type);
        lg.group_state = std::string(state);
        lg.group_type = std::string(classic_type);
    }
    co_return encode_body(resp, v);
}

}  // namespace hako::broker
