// DescribeCluster (key 60): live brokers, cluster id and controller, as Kafka's broker
// answers on its broker listener. hako has no separate controllers, so asking for the
// controller endpoints (endpoint_type 2) gets MISMATCHED_ENDPOINT_TYPE, as a Kafka broker
// answers; any other type gets UNSUPPORTED_ENDPOINT_TYPE.
#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "hako/protocol/messages/describe_cluster.h"

namespace hako::broker {

namespace {

using protocol::error_code;

constexpr std::int8_t brokers_endpoint = 1;
constexpr std::int8_t controllers_endpoint = 2;

// Without an authorizer Kafka grants every operation the CLUSTER resource supports:
// CREATE(5) ALTER(7) DESCRIBE(8) CLUSTER_ACTION(9) DESCRIBE_CONFIGS(10) ALTER_CONFIGS(11)
// IDEMPOTENT_WRITE(12), as a bit field.
constexpr std::int32_t all_cluster_operations =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

}  // namespace

awaitable<std::optional<std::string>> handle_describe_cluster(request_context& ctx,
                                                              protocol::reader& r) {
    protocol::describe_cluster::request req;
    req.decode(r, ctx.version());
    const auto& cfg = ctx.b.cfg();

    protocol::describe_cluster::response resp;
    const std::int8_t endpoint = ctx.version() >= 1 ? req.endpoint_type : brokers_endpoint;
    if (endpoint == controllers_endpoint) {
        resp.error_code = code(error_code::mismatched_endpoint_type);
        resp.error_message = "The request was sent to an endpoint of the wrong type.";
        co_return encode_body(resp, ctx.version());
    }
    if (endpoint != brokers_endpoint) {
        resp.error_code = code(error_code::unsupported_endpoint_type);
        resp.error_message = "This endpoint type is not supported yet.";
        co_return encode_body(resp, ctx.version());
    }

    resp.error_code = code(error_code::none);
    resp.error_message = std::nullopt;
    resp.endpoint_type = brokers_endpoint;
    resp.cluster_id = cfg.cluster_id;
    resp.controller_id = cfg.node_id;
    for (const auto& b : co_await ctx.b.store().live_brokers()) {
        auto& rb = resp.brokers.emplace_back();
        rb.broker_id = b.node_id;
        rb.host = b.host;
        rb.port = b.port;
        rb.rack = b.rack;
    }
    resp.cluster_authorized_operations =
        req.include_cluster_authorized_operations ? all_cluster_operations : INT32_MIN;
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
