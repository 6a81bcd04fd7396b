// DescribeConfigs (key 32). Topics (resource type 2): every known topic config with the
// value in force; source TOPIC_CONFIG when set on the topic, DEFAULT_CONFIG otherwise.
// Synonyms, as Kafka lists them: the topic's own value first, then the broker-level
// default it falls back to. Brokers (type 4): a small read-only set taken from this
// broker's startup configuration. Follows Kafka's ConfigHelper.describeConfigs.
#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <tuple>

#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "broker/topic_config.h"
#include "hako/protocol/messages/describe_configs.h"

namespace hako::broker {

namespace {

using protocol::error_code;
using result_t = protocol::describe_configs::response::describe_configs_result;

constexpr std::int8_t topic_resource = 2;
constexpr std::int8_t broker_resource = 4;

// The broker config each topic config defaults from (Kafka's ServerTopicConfigSynonyms).
constexpr std::array<std::pair<std::string_view, std::string_view>, 25> broker_synonyms{{
    {"cleanup.policy", "log.cleanup.policy"},
    {"compression.type", "compression.type"},
    {"delete.retention.ms", "log.cleaner.delete.retention.ms"},
    {"file.delete.delay.ms", "log.segment.delete.delay.ms"},
    {"flush.messages", "log.flush.interval.messages"},
    {"flush.ms", "log.flush.interval.ms"},
    {"index.interval.bytes", "log.index.interval.bytes"},
    {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms"},
    {"max.message.bytes", "message.max.bytes"},
    {"message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms"},
    {"message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms"},
    {"message.timestamp.difference.max.ms", "log.message.timestamp.difference.max.ms"},
    {"message.timestamp.type", "log.message.timestamp.type"},
    {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio"},
    {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms"},
    {"min.insync.replicas", "min.insync.replicas"},
    {"preallocate", "log.preallocate"},
    {"retention.bytes", "log.retention.bytes"},
    {"retention.ms", "log.retention.ms"},
    {"segment.bytes", "log.segment.bytes"},
    {"segment.index.bytes", "log.index.size.max.bytes"},
    {"segment.jitter.ms", "log.roll.jitter.ms"},
    {"segment.ms", "log.roll.ms"},
    {"unclean.leader.election.enable", "unclean.leader.election.enable"},
    {"message.downconversion.enable", "log.message.downconversion.enable"},
}};

std::string_view default_synonym(std::string_view topic_config) {
    for (const auto& [t, b] : broker_synonyms)
        if (t == topic_config) return b;
    return topic_config;  // hako.* configs have no broker-level twin
}

struct entry {
    std::string name;
    std::string value;
    config_type type;
    config_source source;
    bool read_only;
    std::string_view doc;
    // (name, value, source), most specific first
    std::vector<std::tuple<std::string, std::string, config_source>> synonyms;
};

std::vector<entry> topic_entries(const storage::config_map& explicit_configs) {
    std::vector<entry> out;
    for (const auto& d : topic_config_defs()) {
        entry e{std::string(d.name), effective_config(explicit_configs, d.name), d.type,
                config_source::default_, false, d.doc, {}};
        if (explicit_configs.count(e.name)) {
            e.source = config_source::topic;
            e.synonyms.emplace_back(e.name, e.value, config_source::topic);
        }
        e.synonyms.emplace_back(std::string(default_synonym(d.name)), std::string(d.default_value),
                                config_source::default_);
        out.push_back(std::move(e));
    }
    return out;
}

std::vector<entry> broker_entries(const config& cfg) {
    auto listener = [](const std::string& host, std::int64_t port) {
        return "PLAINTEXT://" + host + ":" + std::to_string(port);
    };
    using enum config_type;
    const auto stat = config_source::static_broker;
    const auto dflt = config_source::default_;
    std::vector<entry> out{
        {"advertised.listeners", listener(cfg.advertised_host, cfg.advertised_port), string, stat,
         true, "listener clients are told to connect to", {}},
        {"auto.create.topics.enable", cfg.auto_create_topics ? "true" : "false", boolean, stat,
         true, "create unknown topics on metadata requests", {}},
        {"broker.id", std::to_string(cfg.node_id), int_, stat, true, "this broker's node id", {}},
        {"default.replication.factor", "1", int_, dflt, true,
         "storage is the replica; every partition has one", {}},
        {"listeners", listener(cfg.listener_host, cfg.listener_port), string, stat, true,
         "address the broker listens on", {}},
        {"message.max.bytes", std::string(find_topic_config("max.message.bytes")->default_value),
         int_, dflt, true, "largest record batch accepted unless a topic says otherwise", {}},
        {"node.id", std::to_string(cfg.node_id), int_, stat, true, "this broker's node id", {}},
        {"num.partitions", std::to_string(cfg.default_partitions), int_, stat, true,
         "partitions of a topic created without a count", {}},
        {"socket.request.max.bytes", std::to_string(cfg.max_request_bytes), int_, stat, true,
         "largest request accepted", {}},
    };
    for (auto& e : out) e.synonyms.emplace_back(e.name, e.value, e.source);
    return out;
}

// Kafka's Topic.validate messages.
std::optional<std::string> topic_name_error(std::string_view name) {
    if (name.empty()) return "Topic name is illegal, it can't be empty";
    if (name == "." || name == "..") return "Topic name cannot be \".\" or \"..\"";
    if (name.size() > 249)
        return "Topic name is illegal, it can't be longer than 249 characters, Topic name: " +
               std::string(name);
    if (!valid_topic_name(name))
        return "Topic name \"" + std::string(name) +
               "\" is illegal, it contains a character other than ASCII alphanumerics, '.', "
               "'_' and '-'";
    return std::nullopt;
}

void fill(result_t& res, const std::vector<entry>& entries,
          const std::optional<std::vector<std::string>>& keys, bool synonyms, bool docs,
          std::int16_t version) {
    // Requested names (tansu.* aliases resolved) -> the name the client asked with.
    std::map<std::string, std::string> wanted;
    const bool all = !keys || keys->empty();
    if (!all)
        for (const auto& k : *keys)
            wanted.emplace(canonical_config_name(k).value_or(k), k);
    for (const auto& e : entries) {
        auto w = wanted.find(e.name);
        if (!all && w == wanted.end()) continue;
        auto& c = res.configs.emplace_back();
        c.name = all ? e.name : w->second;
        c.value = e.value;
        c.read_only = e.read_only;
        c.is_default = e.source == config_source::default_;
        c.config_source = static_cast<std::int8_t>(e.source);
        c.is_sensitive = false;
        if (synonyms && version >= 1)
            for (const auto& [n, v, s] : e.synonyms) {
                auto& syn = c.synonyms.emplace_back();
                syn.name = n;
                syn.value = v;
                syn.source = static_cast<std::int8_t>(s);
            }
        c.config_type = static_cast<std::int8_t>(e.type);
        if (docs && !e.doc.empty())
            c.documentation = std::string(e.doc);
        else
            c.documentation = std::nullopt;
    }
}

}  // namespace

awaitable<std::optional<std::string>> handle_describe_configs(request_context& ctx,
                                                              protocol::reader& r) {
    protocol::describe_configs::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();
    const auto& cfg = ctx.b.cfg();
    // v0 has no include_synonyms; Kafka sends none then.
    const bool synonyms = ctx.version() >= 1 && req.include_synonyms;
    const bool docs = ctx.version() >= 3 && req.include_documentation;

    protocol::describe_configs::response resp;
    for (const auto& res : req.resources) {
        auto& out = resp.results.emplace_back();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name;
        out.error_message = std::nullopt;
        auto fail = [&](error_code e, std::string message) {
            out.error_code = code(e);
            out.error_message = std::move(message);
            out.configs.clear();
        };
        if (res.resource_type == topic_resource) {
            if (auto err = topic_name_error(res.resource_name)) {
                fail(error_code::invalid_topic_exception, *err);
                continue;
            }
            auto info = co_await store.describe_topic(res.resource_name);
            if (!info) {
                fail(error_code::unknown_topic_or_partition,
                     "Topic '" + res.resource_name + "' does not exist.");
                continue;
            }
            fill(out, topic_entries(info->configs), res.configuration_keys, synonyms, docs,
                 ctx.version());
        } else if (res.resource_type == broker_resource) {
            // "" names the cluster-wide dynamic defaults: hako has none.
            if (res.resource_name.empty()) continue;
            std::int32_t id = 0;
            const auto& n = res.resource_name;
            auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), id);
            if (ec != std::errc() || p != n.data() + n.size()) {
                fail(error_code::invalid_request, "Broker id must be an integer, but it is: " + n);
                continue;
            }
            if (id != cfg.node_id) {
                fail(error_code::invalid_request,
                     "Unexpected broker id, expected " + std::to_string(cfg.node_id) +
                         " or empty string, but received " + n);
                continue;
            }
            fill(out, broker_entries(cfg), res.configuration_keys, synonyms, docs, ctx.version());
        } else {
            fail(error_code::invalid_request,
                 "Unsupported resource type: " + std::to_string(res.resource_type));
        }
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
