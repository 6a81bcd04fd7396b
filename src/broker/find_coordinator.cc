// FindCoordinator (key 10): every broker can coordinate every group and transactional id
// (their state lives in storage and changes only by compare-and-swap), so the answer is
// always this broker. v4+ batch several keys. Key types: 0 group, 1 transaction.
#include "hako/protocol/messages/find_coordinator.h"

#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

namespace {

using protocol::error_code;

constexpr std::int8_t group_key = 0;
constexpr std::int8_t transaction_key = 1;

// The error for one key, NONE when this broker coordinates it.
std::optional<std::pair<error_code, std::string>> check(std::int8_t key_type,
                                                        const std::string& key) {
    if (key_type != group_key && key_type != transaction_key)
        return std::pair{error_code::invalid_request,
                         "Unsupported key type " + std::to_string(key_type)};
    if (key_type == transaction_key && key.empty())
        return std::pair{error_code::invalid_request, "A transactional id must not be empty"};
    return std::nullopt;
}

}  // namespace

awaitable<std::optional<std::string>> handle_find_coordinator(request_context& ctx,
                                                              protocol::reader& r) {
    protocol::find_coordinator::request req;
    req.decode(r, ctx.version());
    const auto& cfg = ctx.b.cfg();
    const std::int8_t key_type = ctx.version() >= 1 ? req.key_type : group_key;

    protocol::find_coordinator::response resp;
    if (ctx.version() >= 4) {
        for (const auto& key : req.coordinator_keys) {
            auto& c = resp.coordinators.emplace_back();
            c.key = key;
            c.error_message = std::nullopt;
            if (auto e = check(key_type, key)) {
                c.error_code = code(e->first);
                c.error_message = e->second;
                c.node_id = -1;
                c.port = -1;
                continue;
            }
            c.node_id = cfg.node_id;
            c.host = cfg.advertised_host;
            c.port = cfg.advertised_port;
        }
        co_return encode_body(resp, ctx.version());
    }
    resp.error_message = std::nullopt;
    if (auto e = check(key_type, req.key)) {
        resp.error_code = code(e->first);
        resp.error_message = e->second;
        resp.node_id = -1;
        resp.port = -1;
    } else {
        resp.node_id = cfg.node_id;
        resp.host = cfg.advertised_host;
        resp.port = cfg.advertised_port;
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
