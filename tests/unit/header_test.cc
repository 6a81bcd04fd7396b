#include <gtest/gtest.h>

#include "broker/broker.h"
#include "hako/protocol/messages/api_table.h"
#include "protocol/header.h"

namespace p = hako::protocol;

TEST(request_header, v1_and_v2_round_trip) {
    for (bool flexible : {false, true}) {
        p::request_header h;
        h.api_key = 3;
        h.api_version = flexible ? 12 : 1;
        h.correlation_id = 77;
        h.client_id = "rdkafka";
        if (flexible) h.tagged_fields.push_back({5, "xy"});
        p::writer w;
        h.encode(w, flexible);
        p::reader r(w.buffer());
        p::request_header back;
        back.decode(r, flexible);
        EXPECT_TRUE(r.empty());
        EXPECT_EQ(back.correlation_id, 77);
        EXPECT_EQ(back.client_id, "rdkafka");
        EXPECT_EQ(back.tagged_fields, h.tagged_fields);
    }
}

TEST(request_header, null_client_id_and_truncation) {
    std::string bytes("\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff", 10);
    p::reader r(bytes);
    p::request_header h;
    h.decode(r, false);
    EXPECT_FALSE(h.client_id.has_value());
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        p::reader tr(bytes.data(), cut);
        EXPECT_THROW(h.decode(tr, false), p::decode_error);
    }
}

TEST(handler_table, advertised_ranges_lie_within_the_codec) {
    for (const auto& h : hako::broker::handlers()) {
        const auto* api = p::find_api(h.api_key);
        ASSERT_NE(api, nullptr) << "no codec for api " << h.api_key;
        EXPECT_GE(h.min_version, api->min_version) << api->name;
        EXPECT_LE(h.max_version, api->max_version) << api->name;
        EXPECT_LE(h.min_version, h.max_version) << api->name;
    }
}

TEST(handler_table, librdkafka_feature_versions_are_advertised) {
    // librdkafka < 2.11 enables compression only if Produce's range contains 0, and
    // MsgVer2 only if Fetch's contains 4 (kafka-client-versions.md §2.1).
    const auto* produce = hako::broker::find_handler(0);
    const auto* fetch = hako::broker::find_handler(1);
    ASSERT_TRUE(produce && fetch);
    EXPECT_EQ(produce->min_version, 0);
    EXPECT_LE(fetch->min_version, 4);
    EXPECT_GE(fetch->max_version, 10);  // zstd
}
