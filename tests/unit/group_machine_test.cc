// The classic group state machine (broker/group/machine.h), driven step by step with an
// explicit clock, as the coordinator drives it between storage loads.
#include <gtest/gtest.h>

#include "broker/group/machine.h"
#include "protocol/wire.h"

namespace hako::broker::group {
namespace {

using E = protocol::error_code;

constexpr std::int64_t t0 = 1'700'000'000'000;

settings test_settings() {
    settings s;
    s.initial_rebalance_delay_ms = 3000;
    return s;
}

std::string subscription(std::vector<std::string> topics, std::int16_t version = 1) {
    protocol::writer w;
    w.write_i16(version);
    w.write_array_count(static_cast<std::int64_t>(topics.size()), false);
    for (const auto& t : topics) w.write_string(t, false);
    w.write_nullable_bytes(std::nullopt, false);      // user data
    if (version >= 1) w.write_array_count(0, false);  // owned partitions
    return w.take();
}

join_request jr(std::string member_id, std::int16_t version = 5,
                std::optional<std::string> instance = std::nullopt,
                std::vector<member_protocol> protocols = {{"range", subscription({"t"})}}) {
    join_request r;
    r.member_id = std::move(member_id);
    r.group_instance_id = std::move(instance);
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 30000;
    r.protocol_type = "consumer";
    r.protocols = std::move(protocols);
    r.version = version;
    return r;
}

// A group in storage plus the coordinator's "tick before, step, tick after" discipline.
struct fixture {
    group_metadata g;
    bool exists = false;
    settings s = test_settings();
    int ids = 0;

    join_decision join(const join_request& r, std::int64_t now) {
        if (exists) tick(g, now, s);
        auto d = group::join(g, exists, r, "m" + std::to_string(++ids), now, s);
        if (d.changed) {
            exists = true;
            tick(g, now, s);
        }
        return d;
    }
    // Two-step dynamic join (v4+): returns the member id the client ends up with.
    std::string join_dynamic(std::int64_t now) {
        auto first = join(jr("", 5), now);
        EXPECT_TRUE(first.reply);
        EXPECT_EQ(first.reply->error, E::member_id_required);
        auto second = join(jr(first.reply->member_id, 5), now);
        EXPECT_FALSE(second.reply) << "a new member waits for the join phase";
        return first.reply->member_id;
    }
    sync_decision sync(const std::string& member, std::int32_t generation, std::int64_t now,
                       std::vector<std::pair<std::string, std::string>> assignments = {},
                       std::optional<std::string> instance = std::nullopt) {
        tick(g, now, s);
        sync_request r;
        r.member_id = member;
        r.group_instance_id = std::move(instance);
        r.generation = generation;
        r.assignments = std::move(assignments);
        return group::sync(g, exists, r, now);
    }
    // What the coordinator does for a member whose JoinGroup/SyncGroup is parked.
    void keep_alive(const std::string& member, std::int64_t now) {
        if (auto* m = g.find(member)) m->last_heartbeat_ms = now;
    }
    E heartbeat(const std::string& member, std::int32_t generation, std::int64_t now,
                std::optional<std::string> instance = std::nullopt) {
        tick(g, now, s);
        return group::heartbeat(g, exists, member, instance, generation, now).error;
    }
};

TEST(GroupMachine, TwoStepJoinThenInitialDelayThenLeaderGetsMembers) {
    fixture f;
    auto first = f.join(jr("", 4), t0);
    ASSERT_TRUE(first.reply);
    EXPECT_EQ(first.reply->error, E::member_id_required);
    EXPECT_EQ(first.reply->member_id, "m1");
    EXPECT_TRUE(f.g.is_pending("m1"));
    EXPECT_EQ(f.g.current, state::empty);

    auto second = f.join(jr("m1", 4), t0 + 10);
    EXPECT_FALSE(second.reply);
    EXPECT_EQ(second.member_id, "m1");
    EXPECT_EQ(f.g.current, state::preparing_rebalance);
    EXPECT_TRUE(f.g.initial_rebalance);
    EXPECT_FALSE(join_outcome(f.g, true, "m1", std::nullopt, second.from_generation));

    // The initial delay holds the first generation back even though everyone joined.
    EXPECT_FALSE(tick(f.g, t0 + 2000, f.s));
    EXPECT_EQ(f.g.current, state::preparing_rebalance);
    EXPECT_TRUE(tick(f.g, t0 + 3010, f.s));
    EXPECT_EQ(f.g.current, state::completing_rebalance);
    EXPECT_EQ(f.g.generation, 1);
    auto out = join_outcome(f.g, true, "m1", std::nullopt, second.from_generation);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->error, E::none);
    EXPECT_EQ(out->generation, 1);
    EXPECT_EQ(out->leader, "m1");
    EXPECT_EQ(out->protocol_name, "range");
    EXPECT_EQ(out->protocol_type, "consumer");
    ASSERT_EQ(out->members.size(), 1u);
    EXPECT_EQ(out->members[0].metadata, subscription({"t"}));
}

TEST(GroupMachine, OldVersionsJoinWithoutMemberIdRequired) {
    fixture f;
    auto d = f.join(jr("", 3), t0);
    EXPECT_FALSE(d.reply);
    EXPECT_EQ(d.member_id, "m1");
    EXPECT_NE(f.g.find("m1"), nullptr);
}

TEST(GroupMachine, RejectsBadSessionTimeoutUnknownMembersAndOtherProtocols) {
    fixture f;
    auto r = jr("", 5);
    r.session_timeout_ms = 1000;
    auto d = f.join(r, t0);
    ASSERT_TRUE(d.reply);
    EXPECT_EQ(d.reply->error, E::invalid_session_timeout);
    EXPECT_FALSE(f.exists) << "a rejected join creates no group";

    d = f.join(jr("ghost", 5), t0);
    EXPECT_EQ(d.reply->error, E::unknown_member_id);

    f.join_dynamic(t0);
    auto other = jr("", 5, std::nullopt, {{"other", "x"}});
    d = f.join(other, t0);
    EXPECT_EQ(d.reply->error, E::inconsistent_group_protocol);
    auto connect = jr("", 5);
    connect.protocol_type = "connect";
    d = f.join(connect, t0);
    EXPECT_EQ(d.reply->error, E::inconsistent_group_protocol);
}

TEST(GroupMachine, MembersArrivingDuringTheInitialDelayExtendIt) {
    fixture f;
    auto a = f.join_dynamic(t0);
    auto b = f.join_dynamic(t0 + 2500);
    EXPECT_TRUE(f.g.new_member_added);
    EXPECT_TRUE(tick(f.g, t0 + 3000, f.s));  // window over, but b arrived in it: extend
    EXPECT_EQ(f.g.current, state::preparing_rebalance);
    EXPECT_TRUE(tick(f.g, t0 + 6000, f.s));
    EXPECT_EQ(f.g.current, state::completing_rebalance);
    EXPECT_EQ(f.g.members.size(), 2u);
    auto la = join_outcome(f.g, true, a, std::nullopt, 0);
    auto lb = join_outcome(f.g, true, b, std::nullopt, 0);
    ASSERT_TRUE(la && lb);
    EXPECT_EQ(la->leader, a);
    EXPECT_EQ(la->members.size(), 2u);
    EXPECT_TRUE(lb->members.empty()) << "only the leader gets the member list";
}

// Two members, generation 1, Stable with an assignment each.
struct stable_pair : fixture {
    std::string a, b;
    stable_pair() {
        a = join_dynamic(t0);
        b = join_dynamic(t0 + 1);
        tick(g, t0 + 3001, s);
        tick(g, t0 + 6001, s);
        EXPECT_EQ(g.current, state::completing_rebalance);
        auto fb = sync(b, 1, t0 + 6002);
        EXPECT_FALSE(fb.reply) << "a follower waits for the leader";
        EXPECT_FALSE(sync_outcome(g, true, {b, std::nullopt, 1, {}, {}, {}}));
        auto fa = sync(a, 1, t0 + 6003, {{a, "A"}, {b, "B"}});
        EXPECT_TRUE(fa.reply);
        EXPECT_EQ(fa.reply->assignment, "A");
        EXPECT_EQ(g.current, state::stable);
        auto ob = sync_outcome(g, true, {b, std::nullopt, 1, {}, {}, {}});
        EXPECT_TRUE(ob);
        EXPECT_EQ(ob->assignment, "B");
    }
};

TEST(GroupMachine, SyncHandsOutTheLeadersAssignment) {
    stable_pair f;
    auto again = f.sync(f.b, 1, t0 + 7000);
    ASSERT_TRUE(again.reply);
    EXPECT_EQ(again.reply->assignment, "B");
    EXPECT_EQ(again.reply->protocol_name, "range");
    EXPECT_EQ(f.sync(f.b, 0, t0 + 7000).reply->error, E::illegal_generation);
    EXPECT_EQ(f.sync("ghost", 1, t0 + 7000).reply->error, E::unknown_member_id);
    sync_request wrong{f.b, std::nullopt, 1, std::string("connect"), std::nullopt, {}};
    EXPECT_EQ(group::sync(f.g, true, wrong, t0 + 7000).reply->error,
              E::inconsistent_group_protocol);
}

TEST(GroupMachine, HeartbeatErrors) {
    stable_pair f;
    EXPECT_EQ(f.heartbeat(f.a, 1, t0 + 7000), E::none);
    EXPECT_EQ(f.heartbeat(f.a, 2, t0 + 7000), E::illegal_generation);
    EXPECT_EQ(f.heartbeat("ghost", 1, t0 + 7000), E::unknown_member_id);
    EXPECT_EQ(group::heartbeat(f.g, false, f.a, std::nullopt, 1, t0).error, E::unknown_member_id);
    // A new member starts a rebalance; the others hear about it on their heartbeat.
    f.join_dynamic(t0 + 8000);
    EXPECT_EQ(f.g.current, state::preparing_rebalance);
    EXPECT_EQ(f.heartbeat(f.a, 1, t0 + 8001), E::rebalance_in_progress);
}

TEST(GroupMachine, FollowerRejoinWithSameMetadataKeepsTheGenerationLeaderRejoinRebalances) {
    stable_pair f;
    auto d = f.join(jr(f.b, 5), t0 + 7000);
    ASSERT_TRUE(d.reply);
    EXPECT_EQ(d.reply->generation, 1);
    EXPECT_EQ(f.g.current, state::stable);
    d = f.join(jr(f.a, 5), t0 + 7001);
    EXPECT_FALSE(d.reply);
    EXPECT_EQ(f.g.current, state::preparing_rebalance);
    // b's heartbeat tells it to rejoin; once it does, the phase completes at once.
    EXPECT_EQ(f.heartbeat(f.b, 1, t0 + 7002), E::rebalance_in_progress);
    d = f.join(jr(f.b, 5), t0 + 7003);
    EXPECT_EQ(f.g.current, state::completing_rebalance);
    EXPECT_EQ(f.g.generation, 2);
    auto ob = join_outcome(f.g, true, f.b, std::nullopt, d.from_generation);
    ASSERT_TRUE(ob);
    EXPECT_EQ(ob->generation, 2);
}

TEST(GroupMachine, SilentMemberExpiresAndTheOtherRebalancesAlone) {
    stable_pair f;
    // a keeps heartbeating, b goes silent.
    EXPECT_EQ(f.heartbeat(f.a, 1, t0 + 10000), E::none);
    EXPECT_EQ(next_deadline(f.g), t0 + 6002 + 10000) << "b's session (last seen at its sync)";
    EXPECT_FALSE(tick(f.g, t0 + 16001, f.s));
    EXPECT_TRUE(tick(f.g, t0 + 16002, f.s));
    EXPECT_EQ(f.g.find(f.b), nullptr);
    EXPECT_EQ(f.g.current, state::preparing_rebalance);
    EXPECT_EQ(f.heartbeat(f.a, 1, t0 + 16100), E::rebalance_in_progress);
    auto d = f.join(jr(f.a, 5), t0 + 16200);
    EXPECT_EQ(f.g.current, state::completing_rebalance) << "everyone left has rejoined";
    auto out = join_outcome(f.g, true, f.a, std::nullopt, d.from_generation);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->generation, 2);
    EXPECT_EQ(out->members.size(), 1u);
}

TEST(GroupMachine, MembersThatDoNotRejoinAreDroppedAtTheRebalanceDeadline) {
    stable_pair f;
    f.join(jr(f.a, 5), t0 + 7000);  // leader rejoins: rebalance with deadline +30 s
    EXPECT_EQ(f.g.join_deadline_ms, t0 + 7000 + 30000);
    for (std::int64_t t = t0 + 8000; t < t0 + 37000; t += 2000) {
        f.keep_alive(f.a, t);                                         // parked in JoinGroup
        EXPECT_EQ(f.heartbeat(f.b, 1, t), E::rebalance_in_progress);  // alive, never rejoins
    }
    tick(f.g, t0 + 37000, f.s);
    EXPECT_EQ(f.g.current, state::completing_rebalance);
    EXPECT_EQ(f.g.find(f.b), nullptr);
}

TEST(GroupMachine, MembersThatNeverSyncAreDroppedAtTheSyncDeadline) {
    fixture f;
    auto a = f.join_dynamic(t0);
    auto b = f.join_dynamic(t0);
    tick(f.g, t0 + 3000, f.s);
    tick(f.g, t0 + 6000, f.s);
    ASSERT_EQ(f.g.current, state::completing_rebalance);
    f.sync(a, 1, t0 + 6001, {{a, "A"}, {b, "B"}});
    ASSERT_EQ(f.g.current, state::stable);
    // b heartbeats but never sends SyncGroup
    for (std::int64_t t = t0 + 7000; t < t0 + 36000; t += 2000) {
        EXPECT_EQ(f.heartbeat(a, 1, t), E::none);
        EXPECT_EQ(f.heartbeat(b, 1, t), E::none);
    }
    tick(f.g, t0 + 36000, f.s);
    EXPECT_EQ(f.g.find(b), nullptr);
    EXPECT_EQ(f.g.current, state::preparing_rebalance);
}

TEST(GroupMachine, LeavingMembersRebalanceAndTheLastOneEmptiesTheGroup) {
    stable_pair f;
    auto d = leave(f.g, true, {{f.b, std::nullopt}}, t0 + 7000, f.s);
    ASSERT_EQ(d.members.size(), 1u);
    EXPECT_EQ(d.members[0], E::none);
    EXPECT_EQ(f.g.current, state::preparing_rebalance);
    d = leave(f.g, true, {{"ghost", std::nullopt}}, t0 + 7001, f.s);
    EXPECT_EQ(d.members[0], E::unknown_member_id);
    d = leave(f.g, true, {{f.a, std::nullopt}}, t0 + 7002, f.s);
    tick(f.g, t0 + 7002, f.s);
    EXPECT_EQ(f.g.current, state::empty);
    EXPECT_EQ(f.g.generation, 2);
    EXPECT_TRUE(f.g.members.empty());
    EXPECT_EQ(f.g.protocol_type, "consumer") << "kept, as Kafka does";
    EXPECT_FALSE(f.g.protocol_name);
}

// A static member (group.instance.id) in a Stable group of one dynamic + one static member.
struct static_pair : fixture {
    std::string a, b;  // a dynamic leader, b static follower
    static_pair() {
        a = join_dynamic(t0);
        auto jb = join(jr("", 5, std::string("inst-b")), t0 + 1);
        EXPECT_FALSE(jb.reply) << "static members skip MEMBER_ID_REQUIRED";
        b = jb.member_id;
        tick(g, t0 + 3001, s);
        tick(g, t0 + 6001, s);
        sync(b, 1, t0 + 6002, {}, std::string("inst-b"));
        sync(a, 1, t0 + 6003, {{a, "A"}, {b, "B"}});
        EXPECT_EQ(g.current, state::stable);
    }
};

TEST(GroupMachine, RestartedStaticMemberRejoinsWithoutRebalanceAndKeepsItsAssignment) {
    static_pair f;
    auto d = f.join(jr("", 5, std::string("inst-b")), t0 + 8000);
    ASSERT_TRUE(d.reply);
    EXPECT_EQ(d.reply->error, E::none);
    EXPECT_EQ(d.reply->generation, 1);
    EXPECT_NE(d.reply->member_id, f.b);
    EXPECT_EQ(d.reply->leader, f.a);
    EXPECT_EQ(f.g.current, state::stable) << "no rebalance";
    auto s = f.sync(d.reply->member_id, 1, t0 + 8001, {}, std::string("inst-b"));
    ASSERT_TRUE(s.reply);
    EXPECT_EQ(s.reply->assignment, "B");
    // The old incarnation is fenced.
    EXPECT_EQ(f.heartbeat(f.b, 1, t0 + 8002, std::string("inst-b")), E::fenced_instance_id);
    EXPECT_EQ(f.join(jr(f.b, 5, std::string("inst-b")), t0 + 8003).reply->error,
              E::fenced_instance_id);
}

TEST(GroupMachine, RestartedStaticLeader) {
    fixture f;
    auto j = f.join(jr("", 9, std::string("lead")), t0);
    tick(f.g, t0 + 3000, f.s);
    auto old = j.member_id;
    f.sync(old, 1, t0 + 3001, {{old, "L"}}, std::string("lead"));
    ASSERT_EQ(f.g.current, state::stable);
    // v9: the leader learns the members but skips the assignment (KIP-814).
    auto d = f.join(jr("", 9, std::string("lead")), t0 + 4000);
    ASSERT_TRUE(d.reply);
    EXPECT_TRUE(d.reply->skip_assignment);
    EXPECT_EQ(d.reply->leader, d.reply->member_id);
    EXPECT_EQ(d.reply->members.size(), 1u);
    // Before v9 it is told the old leader id, so it acts as a follower.
    auto again = f.join(jr("", 5, std::string("lead")), t0 + 5000);
    ASSERT_TRUE(again.reply);
    EXPECT_FALSE(again.reply->skip_assignment);
    EXPECT_EQ(again.reply->leader, d.reply->member_id);
    EXPECT_NE(again.reply->leader, again.reply->member_id);
    EXPECT_EQ(f.g.current, state::stable);
}

TEST(GroupMachine, StaticMemberRemovedByInstanceId) {
    static_pair f;
    auto d =
        leave(f.g, true, {{"", std::string("inst-b")}, {"", std::string("nope")}}, t0 + 7000, f.s);
    ASSERT_EQ(d.members.size(), 2u);
    EXPECT_EQ(d.members[0], E::none);
    EXPECT_EQ(d.members[1], E::unknown_member_id);
    EXPECT_EQ(f.g.find(f.b), nullptr);
}

TEST(GroupMachine, ParkedJoinOfAnExpiredMemberAnswersUnknownMember) {
    fixture f;
    auto a = f.join_dynamic(t0);
    f.g.find(a)->last_heartbeat_ms = t0 - 10000;  // its broker died and stopped refreshing
    tick(f.g, t0 + 1, f.s);
    auto out = join_outcome(f.g, true, a, std::nullopt, 0);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->error, E::unknown_member_id);
}

TEST(GroupMachine, CommitRules) {
    group_metadata none;
    auto c = validate_commit(none, false, "", std::nullopt, -1, 7);
    EXPECT_EQ(c.error, E::none);
    EXPECT_TRUE(c.create);
    EXPECT_EQ(validate_commit(none, false, "m", std::nullopt, 3, 7).error, E::illegal_generation);
    EXPECT_EQ(validate_commit(none, false, "m", std::nullopt, 3, 9).error, E::group_id_not_found);

    stable_pair f;
    EXPECT_EQ(validate_commit(f.g, true, f.a, std::nullopt, 1, 7).error, E::none);
    EXPECT_EQ(validate_commit(f.g, true, f.a, std::nullopt, 0, 7).error, E::illegal_generation);
    EXPECT_EQ(validate_commit(f.g, true, "ghost", std::nullopt, 1, 7).error, E::unknown_member_id);
    EXPECT_EQ(validate_commit(f.g, true, "", std::nullopt, -1, 7).error, E::unknown_member_id)
        << "admin commits only to groups without members";
    f.join_dynamic(t0 + 7000);  // PreparingRebalance: members may still commit
    EXPECT_EQ(validate_commit(f.g, true, f.a, std::nullopt, 1, 7).error, E::none);
    leave(f.g, true, {{f.a, std::nullopt}, {f.b, std::nullopt}}, t0 + 7001, f.s);
    tick(f.g, t0 + 7002, f.s);
    ASSERT_EQ(f.g.current, state::completing_rebalance);
    EXPECT_EQ(validate_commit(f.g, true, f.g.members[0].member_id, std::nullopt, 2, 7).error,
              E::rebalance_in_progress);
}

TEST(GroupMachine, ProtocolSelectionFollowsTheVotes) {
    group_metadata g;
    auto add = [&](std::string id, std::vector<std::string> names) {
        member m;
        m.member_id = id;
        for (auto& n : names) m.protocols.push_back({n, ""});
        g.members.push_back(m);
    };
    add("a", {"range", "roundrobin", "sticky"});
    add("b", {"roundrobin", "range"});
    add("c", {"roundrobin", "range", "sticky"});
    EXPECT_EQ(select_protocol(g), "roundrobin");
}

TEST(GroupMachine, ConsumerSubscriptions) {
    EXPECT_EQ(consumer_subscription_topics(subscription({"a", "b"}, 0)),
              (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(consumer_subscription_topics(subscription({"x"}, 3)),
              (std::vector<std::string>{"x"}));
    EXPECT_FALSE(consumer_subscription_topics("\x00"));
    EXPECT_FALSE(consumer_subscription_topics(std::string("\xff\xff\x00\x00\x00\x00", 6)));

    stable_pair f;
    auto topics = subscribed_topics(f.g);
    ASSERT_TRUE(topics);
    EXPECT_EQ(*topics, (std::set<std::string>{"t"}));
    f.g.protocol_type = "connect";
    EXPECT_FALSE(subscribed_topics(f.g));
}

TEST(GroupMachine, OffsetRetention) {
    constexpr std::int64_t day = 24 * 3600 * 1000LL, week = 7 * day;
    group_metadata simple;  // commits without group management: per offset
    simple.state_timestamp_ms = t0;
    EXPECT_FALSE(offset_expired(simple, std::nullopt, "t", t0, t0 + week - 1, week));
    EXPECT_TRUE(offset_expired(simple, std::nullopt, "t", t0, t0 + week, week));

    group_metadata empty;  // a consumer group that emptied at t0 + day: all at once
    empty.protocol_type = "consumer";
    empty.state_timestamp_ms = t0 + day;
    EXPECT_FALSE(offset_expired(empty, std::nullopt, "t", t0, t0 + week, week));
    EXPECT_TRUE(offset_expired(empty, std::nullopt, "t", t0, t0 + day + week, week));

    stable_pair f;  // Stable: only topics nobody subscribes to any more
    auto sub = subscribed_topics(f.g);
    EXPECT_FALSE(offset_expired(f.g, sub, "t", t0, t0 + 2 * week, week));
    EXPECT_TRUE(offset_expired(f.g, sub, "gone", t0, t0 + 2 * week, week));
}

}  // namespace
}  // namespace hako::broker::group
