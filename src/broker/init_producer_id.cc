// InitProducerId (key 22): a cluster-wide unique producer id for idempotent producers,
// allocated by storage so any broker may hand one out. With an existing id and epoch
// (v3+, KIP-360) the epoch is bumped so a producer can reset its sequences after an
// error. Transactional ids need the transaction coordinator, which is not built yet:
// they are refused with a fatal error rather than accepted and then broken.
#include <fmt/core.h>

#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "hako/protocol/messages/init_producer_id.h"

namespace hako::broker {

awaitable<std::optional<std::string>> handle_init_producer_id(request_context& ctx,
                                                              protocol::reader& r) {
    protocol::init_producer_id::request req;
    req.decode(r, ctx.version());
    protocol::init_producer_id::response resp;
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    if (req.transactional_id && !req.transactional_id->empty()) {
        fmt::print(stderr, "hako: refusing transactional.id '{}' from {}: transactions are not "
                           "supported yet\n", *req.transactional_id, ctx.conn.peer);
        resp.error_code = code(protocol::error_code::transactional_id_authorization_failed);
        co_return encode_body(resp, ctx.version());
    }
    if (req.producer_id >= 0 && req.producer_epoch >= 0 && req.producer_epoch < INT16_MAX - 1) {
        resp.producer_id = req.producer_id;
        resp.producer_epoch = static_cast<std::int16_t>(req.producer_epoch + 1);
    } else {
        // a new producer, or an epoch that would overflow: a fresh id
        resp.producer_id = co_await ctx.b.store().allocate_producer_id();
        resp.producer_epoch = 0;
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
