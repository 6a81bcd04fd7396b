// The coordinator over a real (memory) engine: two coordinators on one engine stand for
// two brokers sharing storage. Nothing but the stored blob connects them, so a member
// parked on one must learn from storage what a member on the other did.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <set>

#include "broker/group/coordinator.h"
#include "storage/memory/memory_engine.h"

namespace hako::broker::group {
namespace {

namespace asio = boost::asio;
using E = protocol::error_code;

join_request request(std::string member_id = "", std::int16_t version = 3) {
    join_request r;
    r.member_id = std::move(member_id);
    r.client_id = "unit";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 10000;
    r.protocol_type = "consumer";
    r.protocols = {{"range", "meta"}};
    r.version = version;
    return r;
}

struct two_brokers : ::testing::Test {
    asio::io_context io;
    std::unique_ptr<storage::engine> engine = storage::make_memory_engine(io.get_executor());
    settings s = [] {
        settings x;
        x.initial_rebalance_delay_ms = 0;
        return x;
    }();
    coordinator a{*engine, s, io.get_executor()};
    coordinator b{*engine, s, io.get_executor()};

    template <class T>
    void spawn(asio::awaitable<T> op, std::optional<T>& out) {
        asio::co_spawn(
            io,
            [&, op = std::move(op)]() mutable -> asio::awaitable<void> {
                out = co_await std::move(op);
            },
            asio::detached);
    }
    // Runs the io_context until `done` or the timeout.
    template <class F>
    void run_until(F done, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            io.restart();  // run_for stops for good once it runs out of work
            io.run_for(std::chrono::milliseconds(10));
        }
    }
};

TEST_F(two_brokers, MembersOnDifferentCoordinatorsFormOneGroup) {
    std::optional<join_response> j1, j2, j1b;
    spawn(a.join("g", request()), j1);
    run_until([&] { return j1.has_value(); });
    ASSERT_TRUE(j1);
    ASSERT_EQ(j1->error, E::none);
    EXPECT_EQ(j1->generation, 1);
    const auto m1 = j1->member_id;

    // Member 2 joins through the other coordinator and parks there.
    spawn(b.join("g", request()), j2);
    run_until([&] { return false; }, std::chrono::milliseconds(100));
    EXPECT_FALSE(j2);
    std::optional<error_code> hb;
    spawn(a.heartbeat("g", m1, std::nullopt, 1), hb);
    run_until([&] { return hb.has_value(); });
    EXPECT_EQ(hb, E::rebalance_in_progress);

    // Member 1 rejoins through its own coordinator; the one parked on the other sees the
    // completed join by re-reading storage (no wake-up crosses coordinators).
    spawn(a.join("g", request(m1)), j1b);
    run_until([&] { return j1b && j2; });
    ASSERT_TRUE(j1b && j2);
    EXPECT_EQ(j1b->generation, 2);
    EXPECT_EQ(j2->generation, 2);
    EXPECT_EQ(j1b->leader, m1);
    EXPECT_EQ(j2->leader, m1);
    EXPECT_EQ(j1b->members.size(), 2u);

    // SyncGroup: the follower parks on b until the leader's assignment arrives through a.
    std::optional<sync_response> s2, s1;
    sync_request follower{j2->member_id, std::nullopt, 2, {}, {}, {}};
    spawn(b.sync("g", follower), s2);
    run_until([&] { return false; }, std::chrono::milliseconds(100));
    EXPECT_FALSE(s2);
    sync_request leader{m1, std::nullopt, 2, {}, {}, {{m1, "one"}, {j2->member_id, "two"}}};
    spawn(a.sync("g", leader), s1);
    run_until([&] { return s1 && s2; });
    ASSERT_TRUE(s1 && s2);
    EXPECT_EQ(s1->assignment, "one");
    EXPECT_EQ(s2->error, E::none);
    EXPECT_EQ(s2->assignment, "two");

    std::optional<group_description> d;
    spawn(b.describe("g"), d);
    run_until([&] { return d.has_value(); });
    ASSERT_TRUE(d);
    EXPECT_EQ(d->current, state::stable);
    EXPECT_EQ(d->members.size(), 2u);
}

TEST_F(two_brokers, MembersJoiningANewGroupThroughBothShareItsFirstGeneration) {
    // With an initial rebalance delay, everyone who turns up in time (through either
    // coordinator) lands in generation 1; the members parked on the coordinator that did
    // not complete the phase learn it from storage.
    settings slow = s;
    slow.initial_rebalance_delay_ms = 300;
    coordinator a2{*engine, slow, io.get_executor()}, b2{*engine, slow, io.get_executor()};
    std::vector<std::optional<join_response>> out(6);
    for (std::size_t i = 0; i < out.size(); ++i)
        spawn((i % 2 ? a2 : b2).join("new", request()), out[i]);
    run_until([&] {
        for (auto& o : out)
            if (!o) return false;
        return true;
    });
    std::set<std::string> ids, leaders;
    for (auto& o : out) {
        ASSERT_TRUE(o);
        ASSERT_EQ(o->error, E::none);
        EXPECT_EQ(o->generation, 1);
        ids.insert(o->member_id);
        leaders.insert(o->leader);
    }
    EXPECT_EQ(ids.size(), out.size());
    EXPECT_EQ(leaders.size(), 1u);
    std::optional<group_description> d;
    spawn(a2.describe("new"), d);
    run_until([&] { return d.has_value(); });
    ASSERT_TRUE(d);
    EXPECT_EQ(d->current, state::completing_rebalance);
    EXPECT_EQ(d->members.size(), out.size());
}

TEST_F(two_brokers, StopAnswersParkedRequests) {
    std::optional<join_response> j1, j2;
    spawn(a.join("g", request()), j1);
    run_until([&] { return j1.has_value(); });
    spawn(a.join("g", request()), j2);  // parks: member 1 has not rejoined
    run_until([&] { return false; }, std::chrono::milliseconds(50));
    ASSERT_FALSE(j2);
    a.stop();
    run_until([&] { return j2.has_value(); });
    ASSERT_TRUE(j2);
    EXPECT_EQ(j2->error, E::not_coordinator);
}

}  // namespace
}  // namespace hako::broker::group
