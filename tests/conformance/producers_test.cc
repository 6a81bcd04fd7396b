// Producer ids and idempotent appends: allocate_producer_id(), and the sequence check an
// engine makes in the same transaction as the append (storage.h, producer_state.h).
#include <set>
#include <thread>

#include "conformance.h"

namespace hako::conformance {
namespace {

HAKO_CONFORMANCE_SUITE(Producers);

// A batch from an idempotent producer: `n` records starting at sequence `seq`.
std::string idem(std::int64_t pid, std::int16_t epoch, std::int32_t seq, int n,
                 const std::string& prefix) {
    protocol::batch_builder_options o;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    std::vector<protocol::record> rs;
    for (int i = 0; i < n; ++i) rs.push_back(rec(prefix + "-" + std::to_string(i)));
    return batch(std::move(rs), 1000, o);
}

TEST_P(Producers, AllocatedIdsAreUnique) {
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 20; ++i) ids.push_back(run(eng().allocate_producer_id()));
    // And while many allocations are in flight.
    std::vector<awaitable<void>> ops;
    for (int i = 0; i < 20; ++i)
        ops.push_back([](storage::engine& e, std::vector<std::int64_t>& out) -> awaitable<void> {
            out.push_back(co_await e.allocate_producer_id());
        }(eng(), ids));
    run_all(std::move(ops));
    ASSERT_EQ(ids.size(), 40u);
    for (auto id : ids) EXPECT_GE(id, 0);
    EXPECT_EQ(std::set<std::int64_t>(ids.begin(), ids.end()).size(), ids.size());
}

// The order contract of engine::append (storage.h): appends started one after another
// take their places in that order, even when none has finished before the next starts —
// the broker relies on it to run a connection's Produce requests concurrently. Idempotent
// sequences make any reordering an OUT_OF_ORDER_SEQUENCE_NUMBER.
TEST_P(Producers, AppendsKeepStartOrder) {
    auto t = name("order");
    make_topic(t, 3);
    auto pid = run(eng().allocate_producer_id());
    constexpr int per_partition = 12;
    std::vector<std::vector<storage::append_result>> got(3);
    std::vector<awaitable<void>> ops;  // run_all starts them in this order
    std::int32_t seq[3] = {0, 0, 0};
    for (int i = 0; i < 3 * per_partition; ++i) {
        const std::int32_t p = i % 3;
        const int n = 1 + i % 4;
        auto b = idem(pid, 0, seq[p], n, "p" + std::to_string(p) + "r" + std::to_string(i));
        seq[p] += n;
        ops.push_back([](storage::engine& e, storage::append_request req,
                         std::vector<storage::append_result>& out) -> awaitable<void> {
            out.push_back(co_await e.append(std::move(req)));
        }(eng(), request(t, p, std::move(b)), got[p]));
    }
    run_all(std::move(ops));
    for (std::int32_t p = 0; p < 3; ++p) {
        ASSERT_EQ(got[p].size(), static_cast<std::size_t>(per_partition));
        std::int64_t next = 0;
        for (int k = 0; k < per_partition; ++k) {
            const int i = k * 3 + p;
            EXPECT_EQ(got[p][k].error, error_code::none) << "partition " << p << " append " << k;
            EXPECT_EQ(got[p][k].base_offset, next) << "partition " << p << " append " << k;
            next += 1 + i % 4;
        }
        EXPECT_EQ(offsets(t, p).high_watermark, next);
    }
}

TEST_P(Producers, ARetriedBatchGetsItsOriginalOffsetAndIsNotAppendedTwice) {
    auto t = name("idem");
    make_topic(t, 1);
    auto pid = run(eng().allocate_producer_id());
    EXPECT_EQ(append(t, 0, idem(pid, 0, 0, 3, "first")), 0);
    EXPECT_EQ(append(t, 0, batch_n(1, "plain")), 3);

    auto retry = run(eng().append(request(t, 0, idem(pid, 0, 0, 3, "first"))));
    EXPECT_EQ(retry.error, error_code::none) << "a retry is not an error";
    EXPECT_EQ(retry.base_offset, 0) << "a retry is answered with the original offset";
    EXPECT_EQ(offsets(t, 0).high_watermark, 4) << "a retry must not be appended again";

    EXPECT_EQ(append(t, 0, idem(pid, 0, 3, 2, "second")), 4);
    EXPECT_EQ(run(eng().append(request(t, 0, idem(pid, 0, 3, 2, "second")))).base_offset, 4);
    EXPECT_EQ(run(eng().append(request(t, 0, idem(pid, 0, 0, 3, "first")))).base_offset, 0);
    EXPECT_EQ(offsets(t, 0).high_watermark, 6);
    auto vs = values(fetch_all(t, 0));
    ASSERT_EQ(vs.size(), 6u);
    EXPECT_EQ(vs[5].second, "second-1");
}

TEST_P(Producers, ASequenceGapIsOutOfOrder) {
    auto t = name("gap");
    make_topic(t, 1);
    auto pid = run(eng().allocate_producer_id());
    EXPECT_EQ(append(t, 0, idem(pid, 0, 0, 2, "a")), 0);
    EXPECT_EQ(run(eng().append(request(t, 0, idem(pid, 0, 5, 1, "b")))).error,
              error_code::out_of_order_sequence_number);
    EXPECT_EQ(offsets(t, 0).high_watermark, 2);
    EXPECT_EQ(append(t, 0, idem(pid, 0, 2, 1, "c")), 2);
}

TEST_P(Producers, AnOlderEpochIsFenced) {
    auto t = name("epoch");
    make_topic(t, 1);
    auto pid = run(eng().allocate_producer_id());
    EXPECT_EQ(append(t, 0, idem(pid, 1, 0, 1, "e1")), 0);
    EXPECT_EQ(run(eng().append(request(t, 0, idem(pid, 0, 1, 1, "e0")))).error,
              error_code::invalid_producer_epoch);
    EXPECT_EQ(offsets(t, 0).high_watermark, 1);
    // A bumped epoch starts its sequences again at 0.
    EXPECT_EQ(append(t, 0, idem(pid, 2, 0, 1, "e2")), 1);
}

TEST_P(Producers, SequencesArePerPartitionAndPerProducer) {
    auto t = name("perpart");
    make_topic(t, 2);
    auto p1 = run(eng().allocate_producer_id()), p2 = run(eng().allocate_producer_id());
    EXPECT_EQ(append(t, 0, idem(p1, 0, 0, 2, "p1")), 0);
    EXPECT_EQ(append(t, 1, idem(p1, 0, 0, 2, "p1")), 0) << "same sequence, other partition";
    EXPECT_EQ(append(t, 0, idem(p2, 0, 0, 1, "p2")), 2) << "same sequence, other producer";
    EXPECT_EQ(offsets(t, 0).high_watermark, 3);
}

// Producer state belongs to the partition: a topic deleted and created again under the
// same name must not answer a new batch with an offset from the deleted log.
TEST_P(Producers, DeletingATopicForgetsItsProducerState) {
    auto t = name("reborn");
    make_topic(t, 1);
    auto pid = run(eng().allocate_producer_id());
    append(t, 0, batch_n(2, "filler"));
    EXPECT_EQ(append(t, 0, idem(pid, 0, 0, 1, "old")), 2);
    ASSERT_EQ(run(eng().delete_topic(t)), error_code::none);
    make_topic(t, 1);
    auto r = run(eng().append(request(t, 0, idem(pid, 0, 0, 1, "new"))));
    EXPECT_EQ(r.error, error_code::none);
    EXPECT_EQ(r.base_offset, 0);
    EXPECT_EQ(offsets(t, 0).high_watermark, 1) << "the batch was taken for a retry, not stored";
}

}  // namespace
}  // namespace hako::conformance
