// ApiVersions (key 18): what this broker serves, from the handler table.
#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "hako/protocol/messages/api_versions.h"

namespace hako::broker {

namespace {
// KIP-511 software name/version pattern: [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
bool valid_software_token(std::string_view s) {
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (s.empty() || !alnum(s.front()) || !alnum(s.back())) return false;
    for (char c : s)
        if (!alnum(c) && c != '-' && c != '.') return false;
    return true;
}
}  // namespace

awaitable<std::optional<std::string>> handle_api_versions(request_context& ctx,
                                                          protocol::reader& r) {
    protocol::api_versions::request req;
    req.decode(r, ctx.version());
    protocol::api_versions::response resp;
    if (ctx.version() >= 3 && (!valid_software_token(req.client_software_name) ||
                               !valid_software_token(req.client_software_version))) {
        resp.error_code = code(protocol::error_code::invalid_request);
    }
    for (const auto& h : handlers()) {
        auto& k = resp.api_keys.emplace_back();
        k.api_key = h.api_key;
        k.min_version = h.min_version;
        k.max_version = h.max_version;
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
