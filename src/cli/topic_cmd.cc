// `hako topic create|delete|list|describe`: topic administration over the Kafka protocol,
// so it works against any broker of the cluster (or any Kafka broker).
#include <fmt/core.h>
#include <memory>

#include "cli/commands.h"
#include "client/sync_client.h"
#include "hako/protocol/messages/create_topics.h"
#include "hako/protocol/messages/delete_topics.h"
#include "hako/protocol/messages/describe_configs.h"
#include "hako/protocol/messages/metadata.h"
#include "protocol/error_code.h"

namespace hako::cli {

namespace {

namespace p = hako::protocol;

struct topic_options {
    std::string broker = "tcp://localhost:9092";
    std::string name;
    std::int32_t partitions = -1;
    std::vector<std::string> configs;
};

int fail(std::int16_t code, const std::optional<std::string>& message, const std::string& what) {
    fmt::print(stderr, "hako topic: {}: {}{}\n", what,
               p::error_name(static_cast<p::error_code>(code)),
               message && !message->empty() ? " (" + *message + ")" : "");
    return 1;
}

int create(const topic_options& o) {
    client::sync_client c(o.broker);
    p::create_topics::request req;
    auto& t = req.topics.emplace_back();
    t.name = o.name;
    t.num_partitions = o.partitions;
    t.replication_factor = -1;
    for (const auto& kv : o.configs) {
        auto eq = kv.find('=');
        if (eq == std::string::npos)
            throw std::invalid_argument("--config expects key=value, got '" + kv + "'");
        auto& cfg = t.configs.emplace_back();
        cfg.name = kv.substr(0, eq);
        cfg.value = kv.substr(eq + 1);
    }
    req.timeout_ms = 30000;
    auto resp = c.request<p::create_topics::request, p::create_topics::response>(19, 5, req);
    for (const auto& r : resp.topics)
        if (r.error_code != 0) return fail(r.error_code, r.error_message, "create " + r.name);
    fmt::print("created {}\n", o.name);
    return 0;
}

int remove(const topic_options& o) {
    client::sync_client c(o.broker);
    p::delete_topics::request req;
    req.topic_names.push_back(o.name);
    req.timeout_ms = 30000;
    auto resp = c.request<p::delete_topics::request, p::delete_topics::response>(20, 4, req);
    for (const auto& r : resp.responses)
        if (r.error_code != 0) return fail(r.error_code, r.error_message, "delete " + o.name);
    fmt::print("deleted {}\n", o.name);
    return 0;
}

int list(const topic_options& o) {
    client::sync_client c(o.broker);
    p::metadata::request req;
    req.topics = std::nullopt;
    req.allow_auto_topic_creation = false;
    auto resp = c.request<p::metadata::request, p::metadata::response>(3, 9, req);
    for (const auto& t : resp.topics) fmt::print("{}\n", t.name.value_or(""));
    return 0;
}

int describe(const topic_options& o) {
    client::sync_client c(o.broker);
    p::metadata::request req;
    auto& rt = req.topics.emplace().emplace_back();
    rt.name = o.name;
    req.allow_auto_topic_creation = false;
    auto md = c.request<p::metadata::request, p::metadata::response>(3, 9, req);
    for (const auto& t : md.topics) {
        if (t.error_code != 0) return fail(t.error_code, std::nullopt, "describe " + o.name);
        fmt::print("topic {} partitions {}\n", t.name.value_or(""), t.partitions.size());
        for (const auto& pt : t.partitions)
            fmt::print("  partition {} leader {}\n", pt.partition_index, pt.leader_id);
    }
    p::describe_configs::request dreq;
    auto& res = dreq.resources.emplace_back();
    res.resource_type = 2;
    res.resource_name = o.name;
    res.configuration_keys = std::nullopt;
    auto dc = c.request<p::describe_configs::request, p::describe_configs::response>(32, 1, dreq);
    for (const auto& r : dc.results) {
        if (r.error_code != 0) return fail(r.error_code, r.error_message, "describe configs");
        for (const auto& cfg : r.configs)
            fmt::print("  {}={}{}\n", cfg.name, cfg.value.value_or(""),
                       cfg.config_source == 1 ? "" : " (default)");
    }
    return 0;
}

}  // namespace

std::function<int()> add_topic_command(CLI::App& app) {
    auto o = std::make_shared<topic_options>();
    auto* topic = app.add_subcommand("topic", "create, delete, list and describe topics");
    topic->require_subcommand(1);
    auto broker_flag = [o](CLI::App* c) {
        c->add_option("--broker,-b", o->broker, "broker to talk to, tcp://host:port")
            ->envname("HAKO_BROKER")
            ->capture_default_str();
    };
    auto* cr = topic->add_subcommand("create", "create a topic");
    cr->add_option("name", o->name, "topic name")->required();
    cr->add_option("--partitions,-p", o->partitions, "partitions (-1: broker default)")
        ->capture_default_str();
    cr->add_option("--config,-c", o->configs, "topic config key=value (repeatable)");
    broker_flag(cr);
    auto* de = topic->add_subcommand("delete", "delete a topic");
    de->add_option("name", o->name, "topic name")->required();
    broker_flag(de);
    auto* li = topic->add_subcommand("list", "list topics");
    broker_flag(li);
    auto* ds = topic->add_subcommand("describe", "show partitions and configs of a topic");
    ds->add_option("name", o->name, "topic name")->required();
    broker_flag(ds);
    return [o, topic, cr, de, li, ds]() -> int {
        if (topic->got_subcommand(cr)) return create(*o);
        if (topic->got_subcommand(de)) return remove(*o);
        if (topic->got_subcommand(li)) return list(*o);
        if (topic->got_subcommand(ds)) return describe(*o);
        return 1;
    };
}

}  // namespace hako::cli
