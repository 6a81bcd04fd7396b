#pragma once
// Topic configuration: the names we know, their defaults, types and validation. Storage
// keeps only what a user set explicitly; everything else is a default reported with
// source DEFAULT_CONFIG. `tansu.*` names are accepted as aliases of `hako.*` so Tansu
// users' configs carry over.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "storage/storage.h"

namespace hako::broker {

// Kafka's DescribeConfigs type codes.
enum class config_type : std::int8_t {
    boolean = 1, string = 2, int_ = 3, short_ = 4, long_ = 5, double_ = 6, list = 7,
};

// Kafka's DescribeConfigs source codes.
enum class config_source : std::int8_t {
    topic = 1, dynamic_broker = 2, dynamic_default_broker = 3, static_broker = 4,
    default_ = 5,
};

struct config_def {
    std::string_view name;
    std::string_view default_value;
    config_type type;
    std::string_view doc;
};

std::span<const config_def> topic_config_defs();

// Canonical name (maps tansu.* to hako.*); nullopt if unknown.
std::optional<std::string> canonical_config_name(std::string_view name);

const config_def* find_topic_config(std::string_view canonical_name);

// An error message if `value` is not acceptable for `name`, else nullopt.
std::optional<std::string> validate_topic_config(std::string_view name, std::string_view value);

// The value in force: the explicit one, else the default ("" if unknown).
std::string effective_config(const storage::config_map& explicit_configs, std::string_view name);
std::int64_t effective_config_int(const storage::config_map& explicit_configs,
                                  std::string_view name);

}  // namespace hako::broker
