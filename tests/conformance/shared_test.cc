// Brokers sharing storage (design.md §5-6): two engines opened on one URL stand in for
// two broker processes. Process-local engines (memory://) skip these. Also the cluster
// registry, which every engine has.
#include <functional>
#include <set>
#include <thread>

#include "conformance.h"

namespace hako::conformance {
namespace {

HAKO_CONFORMANCE_SUITE(Cluster);
HAKO_CONFORMANCE_SUITE(Shared);

// A node id of this test's own, so tests sharing one namespace do not collide.
std::int32_t node_id_for(const std::string& token, int n) {
    return static_cast<std::int32_t>(std::hash<std::string>{}(token) % 1'000'000) * 10 + n;
}

TEST_P(Cluster, ARegisteredBrokerIsLive) {
    auto id = node_id_for(token(), 1);
    storage::broker_info self{id, "broker-a.example", 9093, "rack-1"};
    run(eng().register_broker(self, 30'000));
    auto find = [&](const std::vector<storage::broker_info>& live) {
        std::vector<storage::broker_info> out;
        for (const auto& b : live)
            if (b.node_id == id) out.push_back(b);
        return out;
    };
    auto mine = find(run(eng().live_brokers()));
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].host, "broker-a.example");
    EXPECT_EQ(mine[0].port, 9093);
    EXPECT_EQ(mine[0].rack, std::optional<std::string>("rack-1"));

    // Registering again renews and updates; it does not add a second entry.
    self.port = 9094;
    self.rack.reset();
    run(eng().register_broker(self, 30'000));
    mine = find(run(eng().live_brokers()));
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].port, 9094);
    EXPECT_FALSE(mine[0].rack.has_value());
}

#define REQUIRE_SHARED() \
    if (!shared()) GTEST_SKIP() << "process-local engine: two instances never share storage"

TEST_P(Shared, ASecondInstanceSeesTopicsLogsGroupsAndOffsets) {
    REQUIRE_SHARED();
    auto t = name("seen");
    auto info = make_topic(t, 2, {{"retention.ms", "60000"}});
    append(t, 0, batch_n(3, "from-a"));
    auto g = name("g");
    auto v = run(eng().store_group(g, "state-a", 0));
    ASSERT_TRUE(v.has_value());
    run(eng().commit_offsets(g, {{t, 0, 2, 5, "meta", 77}}));

    boost::asio::io_context io_b;
    auto b = open_another(io_b);
    auto d = run_on(io_b, b->describe_topic(t));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->id, info.id);
    EXPECT_EQ(d->partitions, 2);
    EXPECT_EQ(d->configs, info.configs);

    auto fa = fetch(t, 0, 0);
    auto fb = run_on(io_b, b->fetch(t, 0, 0, 1 << 20, storage::isolation::read_uncommitted));
    EXPECT_EQ(fb.error, error_code::none);
    EXPECT_EQ(fb.records, fa.records) << "the two instances see different logs";
    EXPECT_EQ(fb.high_watermark, 3);

    // B appends after A; A sees it and the offsets continue.
    auto rb = run_on(io_b, b->append(request(t, 0, batch_n(2, "from-b"))));
    EXPECT_EQ(rb.error, error_code::none);
    EXPECT_EQ(rb.base_offset, 3);
    EXPECT_EQ(offsets(t, 0).high_watermark, 5);

    auto gb = run_on(io_b, b->load_group(g));
    ASSERT_TRUE(gb.has_value());
    EXPECT_EQ(gb->data, "state-a");
    EXPECT_EQ(gb->version, *v);
    auto ob = run_on(io_b, b->fetch_offsets(g));
    ASSERT_EQ(ob.size(), 1u);
    EXPECT_EQ(ob[0].offset, 2);
    EXPECT_EQ(ob[0].leader_epoch, 5);

    // Config changes, new partitions and deletes made through B are seen by A.
    EXPECT_EQ(run_on(io_b, b->set_topic_configs(t, {{"retention.ms", "1"}})), error_code::none);
    EXPECT_EQ(run_on(io_b, b->create_partitions(t, 3)), error_code::none);
    d = run(eng().describe_topic(t));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->configs, (storage::config_map{{"retention.ms", "1"}}));
    EXPECT_EQ(d->partitions, 3);
    EXPECT_EQ(offsets(t, 2).error, error_code::none);
    EXPECT_EQ(run_on(io_b, b->delete_topic(t)), error_code::none);
    EXPECT_FALSE(run(eng().describe_topic(t)).has_value());
    EXPECT_EQ(offsets(t, 0).error, error_code::unknown_topic_or_partition);
}

// describe_topic_recent / _by_id_recent (the Produce and Fetch lookups): what this
// instance changed is seen at once; what another instance changed is seen within the
// engine's poll interval (here: within 10 s, far above any engine's).
TEST_P(Shared, RecentLookupsSeeOwnChangesAtOnceAndOthersSoon) {
    REQUIRE_SHARED();
    auto t = name("recent");
    auto info = make_topic(t, 1);
    auto by_name = [&](storage::engine& e, boost::asio::io_context& io) {
        return run_on(io, e.describe_topic_recent(t));
    };
    ASSERT_TRUE(run(eng().describe_topic_recent(t)).has_value());
    ASSERT_TRUE(run(eng().describe_topic_by_id_recent(info.id)).has_value());
    EXPECT_EQ(run(eng().create_partitions(t, 2)), error_code::none);
    EXPECT_EQ(run(eng().describe_topic_recent(t))->partitions, 2) << "own change, at once";

    boost::asio::io_context io_b;
    auto b = open_another(io_b);
    ASSERT_EQ(by_name(*b, io_b)->partitions, 2);
    EXPECT_EQ(run(eng().create_partitions(t, 3)), error_code::none);
    auto waited_for = [&](auto done) {
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!done() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return done();
    };
    EXPECT_TRUE(waited_for([&] { return by_name(*b, io_b)->partitions == 3; }))
        << "another instance's change never seen";
    ASSERT_TRUE(run_on(io_b, b->describe_topic_by_id_recent(info.id)).has_value());
    EXPECT_EQ(run(eng().delete_topic(t)), error_code::none);
    EXPECT_FALSE(run(eng().describe_topic_recent(t)).has_value()) << "own delete, at once";
    EXPECT_FALSE(run(eng().describe_topic_by_id_recent(info.id)).has_value());
    EXPECT_TRUE(waited_for([&] {
        return !by_name(*b, io_b).has_value() &&
               !run_on(io_b, b->describe_topic_by_id_recent(info.id)).has_value();
    })) << "another instance's delete never seen";
}

// Two brokers appending to one partition at the same time, each with many produces in
// flight, never hand out one offset twice.
TEST_P(Shared, ConcurrentWritersOnTwoInstancesNeverShareAnOffset) {
    REQUIRE_SHARED();
    auto t = name("race2");
    make_topic(t, 1);
    boost::asio::io_context io_b;
    auto b = open_another(io_b);
    constexpr int writers = 8, per_writer = 12;

    std::vector<appended> done_a, done_b;
    std::exception_ptr error_b;
    std::thread tb([&] {
        try {
            std::vector<awaitable<void>> ops;
            for (int w = 0; w < writers; ++w)
                ops.push_back(append_many(*b, t, "b" + std::to_string(w), per_writer, done_b));
            run_all_on(io_b, std::move(ops));
        } catch (...) {
            error_b = std::current_exception();
        }
    });
    std::vector<awaitable<void>> ops;
    for (int w = 0; w < writers; ++w)
        ops.push_back(append_many(eng(), t, "a" + std::to_string(w), per_writer, done_a));
    std::exception_ptr error_a;
    try {
        run_all(std::move(ops));
    } catch (...) {
        error_a = std::current_exception();
    }
    tb.join();
    if (error_a) std::rethrow_exception(error_a);
    if (error_b) std::rethrow_exception(error_b);

    auto all = done_a;
    all.insert(all.end(), done_b.begin(), done_b.end());
    ASSERT_EQ(all.size(), static_cast<std::size_t>(2 * writers * per_writer));
    auto total = expect_dense(all);
    EXPECT_EQ(offsets(t, 0).high_watermark, total);
    EXPECT_EQ(run_on(io_b, b->offsets(t, 0)).high_watermark, total);
    expect_log_matches(fetch_all(t, 0), all);
}

// Two coordinators on different brokers updating one group: compare-and-swap makes every
// update land exactly once.
TEST_P(Shared, CompareAndSwapHoldsAcrossInstances) {
    REQUIRE_SHARED();
    auto g = name("counter2");
    boost::asio::io_context io_b;
    auto b = open_another(io_b);
    constexpr int workers = 4, each = 10;

    std::vector<std::int64_t> versions_a, versions_b;
    std::exception_ptr error_b;
    std::thread tb([&] {
        try {
            std::vector<awaitable<void>> ops;
            for (int w = 0; w < workers; ++w) ops.push_back(cas_increment(*b, g, each, versions_b));
            run_all_on(io_b, std::move(ops));
        } catch (...) {
            error_b = std::current_exception();
        }
    });
    std::vector<awaitable<void>> ops;
    for (int w = 0; w < workers; ++w) ops.push_back(cas_increment(eng(), g, each, versions_a));
    std::exception_ptr error_a;
    try {
        run_all(std::move(ops));
    } catch (...) {
        error_a = std::current_exception();
    }
    tb.join();
    if (error_a) std::rethrow_exception(error_a);
    if (error_b) std::rethrow_exception(error_b);

    auto s = run(eng().load_group(g));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->data, std::to_string(2 * workers * each)) << "an update was lost";
    auto all = versions_a;
    all.insert(all.end(), versions_b.begin(), versions_b.end());
    EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), all.size())
        << "two stores returned the same version";
}

// What an engine acknowledged is still there when a new engine opens the same URL (the
// in-process stand-in for a broker restart; kill -9 is covered end to end).
TEST_P(Shared, StateSurvivesReopening) {
    REQUIRE_SHARED();
    auto t = name("durable");
    auto info = make_topic(t, 2, {{"cleanup.policy", "delete"}});
    std::vector<std::string> sent;
    for (int i = 0; i < 4; ++i) {
        sent.push_back(batch_n(i + 1, "r" + std::to_string(i)));
        append(t, 1, sent.back());
    }
    ASSERT_EQ(run(eng().delete_records(t, 1, 1)).error, error_code::none);
    auto g = name("g");
    auto v = run(eng().store_group(g, "persisted", 0));
    ASSERT_TRUE(v.has_value());
    run(eng().commit_offsets(g, {{t, 1, 4, 2, std::nullopt, 5}}));
    auto before = fetch(t, 1, 1);

    reopen();
    auto d = run(eng().describe_topic_by_id(info.id));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->name, t);
    EXPECT_EQ(d->configs, info.configs);
    auto o = offsets(t, 1);
    EXPECT_EQ(o.log_start, 1);
    EXPECT_EQ(o.high_watermark, 10);
    EXPECT_EQ(fetch(t, 1, 1).records, before.records);
    auto s = run(eng().load_group(g));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->version, *v);
    EXPECT_EQ(s->data, "persisted");
    EXPECT_EQ(run(eng().fetch_offsets(g)).size(), 1u);
    // Offsets keep counting after a reopen.
    EXPECT_EQ(append(t, 1, batch_n(1, "after")), 10);
}

TEST_P(Shared, ProducerIdsAreUniqueAcrossInstances) {
    REQUIRE_SHARED();
    boost::asio::io_context io_b;
    auto b = open_another(io_b);
    std::vector<std::int64_t> a_ids, b_ids;
    std::exception_ptr error_b;
    std::thread tb([&] {
        try {
            for (int i = 0; i < 30; ++i) b_ids.push_back(run_on(io_b, b->allocate_producer_id()));
        } catch (...) {
            error_b = std::current_exception();
        }
    });
    for (int i = 0; i < 30; ++i) a_ids.push_back(run(eng().allocate_producer_id()));
    tb.join();
    if (error_b) std::rethrow_exception(error_b);
    std::set<std::int64_t> all(a_ids.begin(), a_ids.end());
    all.insert(b_ids.begin(), b_ids.end());
    EXPECT_EQ(all.size(), 60u) << "two brokers handed out one producer id";
}

// A producer whose first broker died retries through another: the retry is recognised
// from stored state, not from the first broker's memory.
TEST_P(Shared, ARetryThroughAnotherInstanceIsRecognised) {
    REQUIRE_SHARED();
    auto t = name("idem2");
    make_topic(t, 1);
    auto pid = run(eng().allocate_producer_id());
    protocol::batch_builder_options o;
    o.producer_id = pid;
    o.producer_epoch = 0;
    o.base_sequence = 0;
    auto b0 = batch({rec("x"), rec("y")}, 1000, o);
    EXPECT_EQ(append(t, 0, b0), 0);

    boost::asio::io_context io_b;
    auto b = open_another(io_b);
    auto r = run_on(io_b, b->append(request(t, 0, b0)));
    EXPECT_EQ(r.error, error_code::none);
    EXPECT_EQ(r.base_offset, 0);
    EXPECT_EQ(run_on(io_b, b->offsets(t, 0)).high_watermark, 2);
    o.base_sequence = 2;
    r = run_on(io_b, b->append(request(t, 0, batch({rec("z")}, 1001, o))));
    EXPECT_EQ(r.error, error_code::none);
    EXPECT_EQ(r.base_offset, 2);
}

TEST_P(Shared, BrokersRegisteredOnEitherInstanceAreLive) {
    REQUIRE_SHARED();
    boost::asio::io_context io_b;
    auto b = open_another(io_b);
    auto id_a = node_id_for(token(), 1), id_b = node_id_for(token(), 2);
    run(eng().register_broker({id_a, "a.example", 9092, std::nullopt}, 30'000));
    run_on(io_b, b->register_broker({id_b, "b.example", 9093, std::nullopt}, 30'000));
    for (auto* e : {&eng(), b.get()}) {
        auto& io_e = e == b.get() ? io_b : io();
        std::set<std::int32_t> ids;
        for (const auto& br : run_on(io_e, e->live_brokers())) ids.insert(br.node_id);
        EXPECT_TRUE(ids.count(id_a));
        EXPECT_TRUE(ids.count(id_b));
    }
}

}  // namespace
}  // namespace hako::conformance
