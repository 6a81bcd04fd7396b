// IncrementalAlterConfigs (key 44): SET (0), DELETE (1), APPEND (2) and SUBTRACT (3) applied
// to a topic's explicitly set configs, then validated, then stored as a whole. APPEND and
// SUBTRACT work on list configs only and start from the default when the config is unset,
// as in Kafka (ConfigAdminManager.preprocess, ConfigurationControlManager.
// incrementalAlterConfigResource). validate_only stores nothing. Broker configs come from
// the command line and cannot change at run time.
#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "broker/topic_config.h"
#include "hako/protocol/messages/incremental_alter_configs.h"

namespace hako::broker {

namespace {

using protocol::error_code;

constexpr std::int8_t topic_resource = 2;
constexpr std::int8_t broker_resource = 4;

enum op : std::int8_t { op_set = 0, op_delete = 1, op_append = 2, op_subtract = 3 };

bool known_resource_type(std::int8_t t) {
    return t == 2 || t == 4 || t == 8 || t == 16 || t == 32;
}

struct failure {
    error_code error;
    std::string message;
};

std::vector<std::string> split_list(std::string_view v) {
    std::vector<std::string> out;
    while (!v.empty()) {
        auto comma = v.find(',');
        auto part = v.substr(0, comma);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
        if (!part.empty()) out.emplace_back(part);
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    return out;
}

std::string join_list(const std::vector<std::string>& parts) {
    std::string s;
    for (const auto& p : parts) s += (s.empty() ? "" : ",") + p;
    return s;
}

// Checks that need no storage (Kafka's ConfigAdminManager.preprocess).
template <class Resource>
std::optional<failure> preprocess(const Resource& res) {
    std::set<std::string> names;
    for (const auto& c : res.configs)
        if (!names.insert(canonical_config_name(c.name).value_or(c.name)).second)
            return failure{error_code::invalid_request, "Error due to duplicate config keys"};
    std::string nulls;
    for (const auto& c : res.configs)
        if (c.config_operation != op_delete && !c.value)
            nulls += (nulls.empty() ? "" : ", ") + c.name;
    if (!nulls.empty())
        return failure{error_code::invalid_request, "Null value not supported for : " + nulls};
    for (const auto& c : res.configs)
        if (c.config_operation < op_set || c.config_operation > op_subtract)
            return failure{error_code::invalid_request,
                           "Unknown alter config operation type " +
                               std::to_string(c.config_operation) + " for " + c.name};
    return std::nullopt;
}

// Applies the operations to `configs` (the topic's explicit configs) and validates what
// changed.
template <class Resource>
std::optional<failure> apply(const Resource& res, storage::config_map& configs) {
    static constexpr std::string_view op_names[] = {"SET", "DELETE", "APPEND", "SUBTRACT"};
    for (const auto& c : res.configs) {
        auto name = canonical_config_name(c.name);
        const config_def* def = name ? find_topic_config(*name) : nullptr;
        switch (c.config_operation) {
            case op_set:
                if (!def)
                    return failure{error_code::invalid_config,
                                   "Unknown topic config name: " + c.name};
                configs[*name] = *c.value;
                break;
            case op_delete:
                if (name) configs.erase(*name);  // deleting an unknown name changes nothing
                break;
            default: {
                if (!def || def->type != config_type::list)
                    return failure{error_code::invalid_config,
                                   "Can't " + std::string(op_names[c.config_operation]) +
                                       " to key " + c.name + " because its type is not LIST."};
                auto parts = split_list(effective_config(configs, *name));
                for (auto& v : split_list(*c.value)) {
                    if (c.config_operation == op_append) {
                        if (std::find(parts.begin(), parts.end(), v) == parts.end())
                            parts.push_back(v);
                    } else {
                        parts.erase(std::remove(parts.begin(), parts.end(), v), parts.end());
                    }
                }
                configs[*name] = join_list(parts);
            }
        }
    }
    for (const auto& c : res.configs) {
        auto name = canonical_config_name(c.name);
        if (!name) continue;
        auto it = configs.find(*name);
        if (it == configs.end()) continue;
        if (auto err = validate_topic_config(*name, it->second))
            return failure{error_code::invalid_config, *err};
    }
    return std::nullopt;
}

}  // namespace

awaitable<std::optional<std::string>> handle_incremental_alter_configs(request_context& ctx,
                                                                       protocol::reader& r) {
    protocol::incremental_alter_configs::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();

    std::map<std::pair<std::int8_t, std::string>, int> occurrences;
    for (const auto& res : req.resources) ++occurrences[{res.resource_type, res.resource_name}];

    protocol::incremental_alter_configs::response resp;
    for (const auto& res : req.resources) {
        auto& out = resp.responses.emplace_back();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name;
        out.error_message = std::nullopt;
        auto result = [&]() -> awaitable<std::optional<failure>> {
            if (occurrences[{res.resource_type, res.resource_name}] > 1)
                co_return failure{error_code::invalid_request,
                                  "Each resource must appear at most once."};
            if (auto err = preprocess(res)) co_return err;
            if (!known_resource_type(res.resource_type))
                co_return failure{error_code::unsupported_version,
                                  "Unknown resource type " + std::to_string(res.resource_type) +
                                      "."};
            if (res.resource_type == broker_resource)
                co_return failure{error_code::invalid_request,
                                  "Broker configs cannot be altered at run time: a hako broker "
                                  "takes them from its command line and environment, so "
                                  "restart it with the new settings."};
            if (res.resource_type != topic_resource)
                co_return failure{error_code::invalid_request,
                                  "IncrementalAlterConfigs does not support resource type " +
                                      std::to_string(res.resource_type) + "."};
            if (res.resource_name.empty())
                co_return failure{error_code::invalid_request,
                                  "Default topic resources are not allowed."};
            if (!valid_topic_name(res.resource_name))
                co_return failure{error_code::invalid_request, "Illegal topic name."};
            auto info = co_await store.describe_topic(res.resource_name);
            if (!info)
                co_return failure{error_code::unknown_topic_or_partition,
                                  "The topic '" + res.resource_name + "' does not exist."};
            auto configs = info->configs;
            if (auto err = apply(res, configs)) co_return err;
            if (req.validate_only || configs == info->configs) co_return std::nullopt;
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
