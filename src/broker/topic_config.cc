#include "broker/topic_config.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace hako::broker {
namespace {

using enum config_type;

// Defaults match Apache Kafka's so clients and tools see familiar values.
constexpr std::array<config_def, 26> defs{{
    {"cleanup.policy", "delete", list, "delete and/or compact"},
    {"compression.type", "producer", string, "codec for stored batches; producer keeps them as sent"},
    {"delete.retention.ms", "86400000", long_, "how long tombstones survive compaction"},
    {"file.delete.delay.ms", "60000", long_, "accepted for compatibility"},
    {"flush.messages", "9223372036854775807", long_, "accepted for compatibility"},
    {"flush.ms", "9223372036854775807", long_, "accepted for compatibility"},
    {"index.interval.bytes", "4096", int_, "accepted for compatibility"},
    {"max.compaction.lag.ms", "9223372036854775807", long_, "compaction lag upper bound"},
    {"max.message.bytes", "1048588", int_, "largest record batch accepted"},
    {"message.timestamp.after.max.ms", "9223372036854775807", long_, "how far in the future a CreateTime may be"},
    {"message.timestamp.before.max.ms", "9223372036854775807", long_, "how far in the past a CreateTime may be"},
    {"message.timestamp.difference.max.ms", "9223372036854775807", long_, "older alias bounding both directions"},
    {"message.timestamp.type", "CreateTime", string, "CreateTime or LogAppendTime"},
    {"min.cleanable.dirty.ratio", "0.5", double_, "accepted for compatibility"},
    {"min.compaction.lag.ms", "0", long_, "compaction lag lower bound"},
    {"min.insync.replicas", "1", int_, "storage is the replica; accepted for compatibility"},
    {"preallocate", "false", boolean, "accepted for compatibility"},
    {"retention.bytes", "-1", long_, "partition size bound, -1 = none"},
    {"retention.ms", "604800000", long_, "record age bound, -1 = none"},
    {"segment.bytes", "1073741824", int_, "accepted for compatibility"},
    {"segment.index.bytes", "10485760", int_, "accepted for compatibility"},
    {"segment.jitter.ms", "0", long_, "accepted for compatibility"},
    {"segment.ms", "604800000", long_, "accepted for compatibility"},
    {"unclean.leader.election.enable", "false", boolean, "accepted for compatibility"},
    {"message.downconversion.enable", "true", boolean, "accepted for compatibility"},
    {"hako.lake.sink", "false", boolean, "write the topic only to its lake table"},
}};

bool parse_long(std::string_view v, std::int64_t& out) {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && p == v.data() + v.size();
}

}  // namespace

std::span<const config_def> topic_config_defs() { return defs; }

std::optional<std::string> canonical_config_name(std::string_view name) {
    std::string n(name);
    if (n.rfind("tansu.", 0) == 0) n = "hako." + n.substr(6);
    if (find_topic_config(n)) return n;
    return std::nullopt;
}

const config_def* find_topic_config(std::string_view name) {
    for (const auto& d : defs)
        if (d.name == name) return &d;
    return nullptr;
}

std::optional<std::string> validate_topic_config(std::string_view name, std::string_view value) {
    const auto* d = find_topic_config(name);
    if (!d) return "unknown topic config '" + std::string(name) + "'";
    auto bad = [&](std::string_view what) {
        return "config " + std::string(name) + "=" + std::string(value) + ": " + std::string(what);
    };
    std::int64_t n = 0;
    switch (d->type) {
        case config_type::int_:
        case config_type::short_:
        case config_type::long_:
            if (!parse_long(value, n)) return bad("not an integer");
            if (d->type == config_type::int_ && (n < INT32_MIN || n > INT32_MAX))
                return bad("out of range for an int");
            if (name == "max.message.bytes" && n < 0) return bad("must be >= 0");
            if ((name == "retention.ms" || name == "retention.bytes") && n < -1)
                return bad("must be >= -1");
            break;
        case config_type::boolean:
            if (value != "true" && value != "false") return bad("must be true or false");
            break;
        case config_type::double_:
            if (value.empty()) return bad("not a number");
            break;
        default:
            break;
    }
    if (name == "message.timestamp.type" && value != "CreateTime" && value != "LogAppendTime")
        return bad("must be CreateTime or LogAppendTime");
    if (name == "cleanup.policy") {
        std::string v(value);
        if (v != "delete" && v != "compact" && v != "delete,compact" && v != "compact,delete")
            return bad("must be delete, compact or both");
    }
    if (name == "compression.type") {
        static constexpr std::array<std::string_view, 6> ok{"producer", "uncompressed", "gzip",
                                                            "snappy",   "lz4",          "zstd"};
        if (std::find(ok.begin(), ok.end(), value) == ok.end()) return bad("unknown codec");
    }
    return std::nullopt;
}

std::string effective_config(const storage::config_map& explicit_configs, std::string_view name) {
    auto it = explicit_configs.find(std::string(name));
    if (it != explicit_configs.end()) return it->second;
    const auto* d = find_topic_config(name);
    return d ? std::string(d->default_value) : std::string();
}

std::int64_t effective_config_int(const storage::config_map& explicit_configs,
                                  std::string_view name) {
    std::int64_t n = 0;
    parse_long(effective_config(explicit_configs, name), n);
    return n;
}

}  // namespace hako::broker
