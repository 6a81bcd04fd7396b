// Topic configs: canonical names (tansu.* aliases), defaults, types and value validation.
#include "broker/topic_config.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace hako::broker {
namespace {

TEST(TopicConfig, KnownNamesAreTheirOwnCanonicalName) {
    for (const auto& d : topic_config_defs()) {
        auto c = canonical_config_name(d.name);
        ASSERT_TRUE(c.has_value()) << d.name;
        EXPECT_EQ(*c, d.name);
        EXPECT_EQ(find_topic_config(d.name), &d);
    }
}

TEST(TopicConfig, TansuAliasesMapToHako) {
    EXPECT_EQ(canonical_config_name("tansu.lake.sink"), std::optional<std::string>("hako.lake.sink"));
    EXPECT_EQ(canonical_config_name("hako.lake.sink"), std::optional<std::string>("hako.lake.sink"));
}

TEST(TopicConfig, UnknownNamesHaveNoCanonicalName) {
    EXPECT_FALSE(canonical_config_name("retention.foo"));
    EXPECT_FALSE(canonical_config_name(""));
    EXPECT_FALSE(canonical_config_name("tansu."));
    EXPECT_FALSE(canonical_config_name("tansu.unknown"));
    EXPECT_FALSE(canonical_config_name("Retention.ms"));  // names are case-sensitive
    EXPECT_EQ(find_topic_config("tansu.lake.sink"), nullptr);  // lookups take canonical names
}

TEST(TopicConfig, NamesAreUniqueAndDefaultsValid) {
    std::set<std::string_view> seen;
    for (const auto& d : topic_config_defs()) {
        EXPECT_TRUE(seen.insert(d.name).second) << "duplicate " << d.name;
        EXPECT_EQ(validate_topic_config(d.name, d.default_value), std::nullopt)
            << d.name << "=" << d.default_value;
    }
}

TEST(TopicConfig, KafkaDefaults) {
    auto dflt = [](std::string_view n) { return std::string(find_topic_config(n)->default_value); };
    EXPECT_EQ(dflt("cleanup.policy"), "delete");
    EXPECT_EQ(dflt("retention.ms"), "604800000");
    EXPECT_EQ(dflt("retention.bytes"), "-1");
    EXPECT_EQ(dflt("max.message.bytes"), "1048588");
    EXPECT_EQ(dflt("message.timestamp.type"), "CreateTime");
    EXPECT_EQ(dflt("compression.type"), "producer");
    EXPECT_EQ(find_topic_config("cleanup.policy")->type, config_type::list);
    EXPECT_EQ(find_topic_config("retention.ms")->type, config_type::long_);
    EXPECT_EQ(find_topic_config("max.message.bytes")->type, config_type::int_);
    EXPECT_EQ(find_topic_config("hako.lake.sink")->type, config_type::boolean);
}

TEST(TopicConfig, UnknownNameIsRejected) {
    auto err = validate_topic_config("no.such.config", "1");
    ASSERT_TRUE(err.has_value());
    EXPECT_NE(err->find("no.such.config"), std::string::npos);
}

TEST(TopicConfig, Integers) {
    EXPECT_EQ(validate_topic_config("retention.ms", "86400000"), std::nullopt);
    EXPECT_EQ(validate_topic_config("retention.ms", "-1"), std::nullopt);
    EXPECT_TRUE(validate_topic_config("retention.ms", "-2"));
    EXPECT_TRUE(validate_topic_config("retention.ms", "abc"));
    EXPECT_TRUE(validate_topic_config("retention.ms", ""));
    EXPECT_TRUE(validate_topic_config("retention.ms", "12abc"));
    EXPECT_TRUE(validate_topic_config("retention.ms", "1.5"));
    EXPECT_TRUE(validate_topic_config("retention.ms", "99999999999999999999"));  // > int64
    EXPECT_EQ(validate_topic_config("retention.ms", "9223372036854775807"), std::nullopt);
    EXPECT_EQ(validate_topic_config("retention.bytes", "-1"), std::nullopt);
    EXPECT_TRUE(validate_topic_config("retention.bytes", "-5"));

    EXPECT_EQ(validate_topic_config("max.message.bytes", "0"), std::nullopt);
    EXPECT_EQ(validate_topic_config("max.message.bytes", "2147483647"), std::nullopt);
    EXPECT_TRUE(validate_topic_config("max.message.bytes", "2147483648"));  // int, not long
    EXPECT_TRUE(validate_topic_config("max.message.bytes", "-1"));
}

TEST(TopicConfig, Booleans) {
    EXPECT_EQ(validate_topic_config("hako.lake.sink", "true"), std::nullopt);
    EXPECT_EQ(validate_topic_config("hako.lake.sink", "false"), std::nullopt);
    EXPECT_TRUE(validate_topic_config("hako.lake.sink", "yes"));
    EXPECT_TRUE(validate_topic_config("hako.lake.sink", ""));
    EXPECT_TRUE(validate_topic_config("preallocate", "1"));
}

TEST(TopicConfig, CleanupPolicy) {
    for (auto v : {"delete", "compact", "delete,compact", "compact,delete"})
        EXPECT_EQ(validate_topic_config("cleanup.policy", v), std::nullopt) << v;
    for (auto v : {"", "remove", "delete;compact", "compact,"})
        EXPECT_TRUE(validate_topic_config("cleanup.policy", v)) << v;
}

TEST(TopicConfig, TimestampTypeAndCompression) {
    EXPECT_EQ(validate_topic_config("message.timestamp.type", "CreateTime"), std::nullopt);
    EXPECT_EQ(validate_topic_config("message.timestamp.type", "LogAppendTime"), std::nullopt);
    EXPECT_TRUE(validate_topic_config("message.timestamp.type", "createtime"));
    for (auto v : {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"})
        EXPECT_EQ(validate_topic_config("compression.type", v), std::nullopt) << v;
    EXPECT_TRUE(validate_topic_config("compression.type", "brotli"));
}

TEST(TopicConfig, ErrorMessageNamesConfigAndValue) {
    auto err = validate_topic_config("retention.ms", "soon");
    ASSERT_TRUE(err.has_value());
    EXPECT_NE(err->find("retention.ms"), std::string::npos);
    EXPECT_NE(err->find("soon"), std::string::npos);
}

TEST(TopicConfig, EffectiveValues) {
    storage::config_map explicit_configs{{"retention.ms", "1000"}};
    EXPECT_EQ(effective_config(explicit_configs, "retention.ms"), "1000");
    EXPECT_EQ(effective_config(explicit_configs, "cleanup.policy"), "delete");
    EXPECT_EQ(effective_config(explicit_configs, "no.such.config"), "");
    EXPECT_EQ(effective_config_int(explicit_configs, "retention.ms"), 1000);
    EXPECT_EQ(effective_config_int(explicit_configs, "max.message.bytes"), 1048588);
    EXPECT_EQ(effective_config_int({}, "retention.bytes"), -1);
}

}  // namespace
}  // namespace hako::broker
