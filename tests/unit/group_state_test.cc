// The group state blob: round trip, format byte, malformed input.
#include <gtest/gtest.h>

#include "broker/group/state.h"
#include "protocol/wire.h"

namespace hako::broker::group {
namespace {

group_metadata sample() {
    group_metadata g;
    g.current = state::completing_rebalance;
    g.generation = 7;
    g.protocol_type = "consumer";
    g.protocol_name = "range";
    g.leader = "c1-0001";
    g.state_timestamp_ms = 1700000000123;
    g.join_deadline_ms = 1700000003000;
    g.initial_rebalance = true;
    g.new_member_added = true;
    g.initial_delay_ms = 3000;
    g.initial_remaining_ms = 297000;
    g.sync_deadline_ms = 1700000300000;
    g.assigned_generation = 6;
    member a;
    a.member_id = "c1-0001";
    a.client_id = "c1";
    a.client_host = "/127.0.0.1";
    a.session_timeout_ms = 6000;
    a.rebalance_timeout_ms = 300000;
    a.protocols = {{"range", std::string("\0\1meta", 6)}, {"roundrobin", ""}};
    a.assignment = std::string("\0\0\xff", 3);
    a.last_heartbeat_ms = 1700000000100;
    a.pending_sync = true;
    member b = a;
    b.member_id = "static-b-0002";
    b.group_instance_id = "static-b";
    b.awaiting_join = true;
    b.is_new = true;
    b.pending_sync = false;
    b.assignment.clear();
    g.members = {a, b};
    g.pending = {{"c3-0003", 1700000006000}};
    return g;
}

TEST(GroupState, RoundTrip) {
    auto g = sample();
    auto blob = encode(g);
    EXPECT_EQ(blob[0], 1) << "format byte";
    EXPECT_EQ(decode(blob), g);
}

TEST(GroupState, EmptyGroupRoundTrip) {
    group_metadata g;
    EXPECT_EQ(decode(encode(g)), g);
    EXPECT_EQ(g.current, state::empty);
    EXPECT_FALSE(g.protocol_type);
}

TEST(GroupState, RejectsUnknownFormatTruncationAndTrailingBytes) {
    auto blob = encode(sample());
    auto bad = blob;
    bad[0] = 2;
    EXPECT_THROW(decode(bad), protocol::decode_error);
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, blob.size() / 2, blob.size() - 1})
        EXPECT_THROW(decode(blob.substr(0, n)), protocol::decode_error) << n;
    EXPECT_THROW(decode(blob + "x"), protocol::decode_error);
    auto bad_state = blob;
    bad_state[1] = 9;
    EXPECT_THROW(decode(bad_state), protocol::decode_error);
}

TEST(GroupState, StateNames) {
    EXPECT_EQ(state_name(state::empty), "Empty");
    EXPECT_EQ(state_name(state::preparing_rebalance), "PreparingRebalance");
    EXPECT_EQ(state_name(state::completing_rebalance), "CompletingRebalance");
    EXPECT_EQ(state_name(state::stable), "Stable");
    EXPECT_EQ(state_name(state::dead), "Dead");
    EXPECT_EQ(parse_state("stable"), state::stable);
    EXPECT_EQ(parse_state("PREPARINGREBALANCE"), state::preparing_rebalance);
    EXPECT_FALSE(parse_state("Stabl"));
}

TEST(GroupState, Lookups) {
    auto g = sample();
    ASSERT_NE(g.find("c1-0001"), nullptr);
    EXPECT_EQ(g.find("nope"), nullptr);
    ASSERT_NE(g.find_instance("static-b"), nullptr);
    EXPECT_EQ(g.find_instance("static-b")->member_id, "static-b-0002");
    EXPECT_TRUE(g.is_pending("c3-0003"));
    EXPECT_FALSE(g.is_pending("c1-0001"));
    EXPECT_NE(g.members[0].find_protocol("roundrobin"), nullptr);
    EXPECT_EQ(g.members[0].find_protocol("sticky"), nullptr);
}

}  // namespace
}  // namespace hako::broker::group
