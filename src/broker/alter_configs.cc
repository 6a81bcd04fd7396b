// AlterConfigs (key 33, legacy): the configs given for a topic replace all of its
// explicitly set configs, as in Kafka (ConfigurationControlManager.legacyAlterConfigs);
// a null value leaves that name unset. Every config is validated before anything is
// stored; validate_only stores nothing. Broker configs come from the command line and
// cannot change at run time.
#include <map>
#include <utility>

#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "broker/topic_config.h"
#include "hako/protocol/messages/alter_configs.h"

namespace hako::broker {

namespace {

using protocol::error_code;

constexpr std::int8_t topic_resource = 2;
constexpr std::int8_t broker_resource = 4;

bool known_resource_type(std::int8_t t) {
    return t == 2 || t == 4 || t == 8 || t == 16 || t == 32;
}

struct failure {
    error_code error;
    std::string message;
};

template <class Resource>
std::optional<failure> build_configs(const Resource& res, storage::config_map& out) {
    for (const auto& c : res.configs) {
        auto name = canonical_config_name(c.name);
        if (!name) return failure{error_code::invalid_config, "Unknown topic config name: " + c.name};
        if (!c.value) {
            out.erase(*name);
            continue;
        }
        if (auto err = validate_topic_config(*name, *c.value))
            return failure{error_code::invalid_config, *err};
        out[*name] = *c.value;
    }
    return std::nullopt;
}

}  // namespace

awaitable<std::optional<std::string>> handle_alter_configs(request_context& ctx,
                                                           protocol::reader& r) {
    protocol::alter_configs::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();

    std::map<std::pair<std::int8_t, std::string>, int> occurrences;
    for (const auto& res : req.resources) ++occurrences[{res.resource_type, res.resource_name}];

    protocol::alter_configs::response resp;
    for (const auto& res : req.resources) {
        auto& out = resp.responses.emplace_back();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name;
        out.error_message = std::nullopt;
        auto result = [&]() -> awaitable<std::optional<failure>> {
            if (!known_resource_type(res.resource_type))
                co_return failure{error_code::unsupported_version,
                                  "Unknown resource type " + std::to_string(res.resource_type) +
                                      "."};
            if (occurrences[{res.resource_type, res.resource_name}] > 1)
                co_return failure{error_code::invalid_request, "Duplicate resource."};
            if (res.resource_type == broker_resource)
                co_return failure{error_code::invalid_request,
                                  "Broker configs cannot be altered at run time: a hako broker "
                                  "takes them from its command line and environment, so "
                                  "restart it with the new settings."};
            if (res.resource_type != topic_resource)
                co_return failure{error_code::invalid_request,
                                  "AlterConfigs does not support resource type " +
                                      std::to_string(res.resource_type) + "."};
            if (res.resource_name.empty())
                co_return failure{error_code::invalid_request,
                                  "Default topic resources are not allowed."};
            if (!valid_topic_name(res.resource_name))
                co_return failure{error_code::invalid_request, "Illegal topic name."};
            if (!co_await store.describe_topic(res.resource_name))
                co_return failure{error_code::unknown_topic_or_partition,
                                  "The topic '" + res.resource_name + "' does not exist."};
            storage::config_map configs;
            if (auto err = build_configs(res, configs)) co_return err;
            if (req.validate_only) co_return std::nullopt;
            auto ec = co_await store.set_topic_configs(res.resource_name, std::move(configs));
            if (ec == error_code::unknown_topic_or_partition)  // deleted meanwhile
                co_return failure{ec, "The topic '" + res.resource_name + "' does not exist."};
            if (ec != error_code::none)
                co_return failure{ec, std::string(protocol::error_name(ec))};
            co_return std::nullopt;
        };
        if (auto err = co_await result()) {
            out.error_code = code(err->error);
            out.error_message = err->message;
        }
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
