// Retention and compaction: engine::maintain(), which the broker's periodic task calls
// with a policy built from the topic's configs.
#include "conformance.h"

namespace hako::conformance {
namespace {

using storage::retention_policy;

HAKO_CONFORMANCE_SUITE(Retention);
HAKO_CONFORMANCE_SUITE(Compaction);

struct kv {
    std::int64_t offset;
    std::optional<std::string> key;
    std::optional<std::string> value;
    bool operator==(const kv&) const = default;
};

std::ostream& operator<<(std::ostream& os, const kv& r) {
    return os << "{" << r.offset << ", " << r.key.value_or("<null>") << ", "
              << r.value.value_or("<null>") << "}";
}

std::vector<kv> records_of(const std::vector<fetched_batch>& log) {
    std::vector<kv> out;
    for (const auto& b : log)
        for (const auto& r : protocol::decode_records(b.bytes, 64u << 20))
            out.push_back({b.header.base_offset + r.offset_delta, r.key, r.value});
    return out;
}

retention_policy by_time(std::int64_t now, std::int64_t retention_ms) {
    retention_policy p;
    p.now_ms = now;
    p.retention_ms = retention_ms;
    return p;
}

// --- retention ---------------------------------------------------------------------------

TEST_P(Retention, TimeRetentionDropsExpiredBatchesFromTheFront) {
    auto t = name("rtime");
    make_topic(t, 2);
    // Batch max timestamps 100'001, 500'001, 900'001 (offsets 0-1, 2-3, 4-5).
    for (std::int64_t ts : {100'000, 500'000, 900'000})
        append(t, 0, batch({rec("v", 0), rec("v", 1)}, ts));
    append(t, 1, batch({rec("other")}, 1));

    // Nothing to do without a limit.
    auto o = run(eng().maintain(t, 0, by_time(1'000'000, -1)));
    EXPECT_EQ(o.error, error_code::none);
    EXPECT_EQ(o.log_start, 0);

    // Cutoff 600'000: the first two batches are older.
    o = run(eng().maintain(t, 0, by_time(1'000'000, 400'000)));
    EXPECT_EQ(o.error, error_code::none);
    EXPECT_EQ(o.log_start, 4);
    EXPECT_EQ(o.high_watermark, 6);
    EXPECT_EQ(offsets(t, 0).log_start, 4);
    EXPECT_EQ(fetch(t, 0, 3).error, error_code::offset_out_of_range);
    auto vs = values(fetch_all(t, 0, 4));
    ASSERT_EQ(vs.size(), 2u);
    EXPECT_EQ(vs[0].first, 4);

    // Deleted only once the newest record is older than now - retention.ms (Kafka's
    // "now - largest timestamp > retention.ms").
    o = run(eng().maintain(t, 0, by_time(1'000'000, 99'999)));  // 1'000'000 - 900'001 = 99'999
    EXPECT_EQ(o.log_start, 4);
    o = run(eng().maintain(t, 0, by_time(1'000'000, 99'998)));
    EXPECT_EQ(o.log_start, 6) << "the last expired batch must go too";
    EXPECT_EQ(o.high_watermark, 6) << "retention never moves the high watermark";
    auto r = fetch(t, 0, 6);
    EXPECT_EQ(r.error, error_code::none);
    EXPECT_TRUE(r.records.empty());
    EXPECT_EQ(append(t, 0, batch_n(1, "next", 2'000'000)), 6) << "offsets keep counting";

    // Other partitions are untouched.
    EXPECT_EQ(offsets(t, 1).log_start, 0);
    EXPECT_EQ(offsets(t, 1).high_watermark, 1);
}

TEST_P(Retention, TimeRetentionStopsAtTheFirstUnexpiredBatch) {
    auto t = name("rprefix");
    make_topic(t, 1);
    append(t, 0, batch({rec("old")}, 100));        // 0: expired
    append(t, 0, batch({rec("new")}, 900'000));    // 1: not expired
    append(t, 0, batch({rec("old-again")}, 100));  // 2: expired, but behind a live batch
    auto o = run(eng().maintain(t, 0, by_time(1'000'000, 400'000)));
    EXPECT_EQ(o.error, error_code::none);
    EXPECT_EQ(o.log_start, 1) << "the log start may only pass a prefix of expired batches";
    auto vs = values(fetch_all(t, 0, 1));
    ASSERT_EQ(vs.size(), 2u);
    EXPECT_EQ(vs[1].second, "old-again");
}

TEST_P(Retention, SizeRetentionKeepsTheNewestBatchesThatFit) {
    auto t = name("rsize");
    make_topic(t, 1);
    // Four batches of about 1 KB each; the limits below leave half a batch of slack so
    // an engine may count bytes a little differently.
    for (int i = 0; i < 4; ++i)
        append(t, 0, batch({rec(std::string(1000, static_cast<char>('a' + i)))}, 1000 + i));
    auto s = static_cast<std::int64_t>(batch({rec(std::string(1000, 'a'))}, 1000).size());

    retention_policy p;
    p.now_ms = 2000;
    p.retention_bytes = 10 * s;
    EXPECT_EQ(run(eng().maintain(t, 0, p)).log_start, 0);
    p.retention_bytes = 3 * s + s / 2;
    auto o = run(eng().maintain(t, 0, p));
    EXPECT_EQ(o.error, error_code::none);
    EXPECT_EQ(o.log_start, 1);
    p.retention_bytes = s + s / 2;
    o = run(eng().maintain(t, 0, p));
    EXPECT_EQ(o.log_start, 3);
    EXPECT_EQ(o.high_watermark, 4);
    auto vs = values(fetch_all(t, 0, 3));
    ASSERT_EQ(vs.size(), 1u);
    EXPECT_EQ(vs[0].second, std::string(1000, 'd'));
}

TEST_P(Retention, UnknownPartition) {
    EXPECT_EQ(run(eng().maintain(name("absent"), 0, by_time(1, 1))).error,
              error_code::unknown_topic_or_partition);
}

// --- compaction --------------------------------------------------------------------------

// offsets 0-2: a=a1 b=b1 a=a2 | 3-4: c=c1 b=<tombstone> | 5-6: d=d1 c=c2
void fill_compaction_log(const std::function<void(std::string)>& add) {
    add(batch({rec("a1", 0, "a"), rec("b1", 0, "b"), rec("a2", 1, "a")}, 1000));
    add(batch({rec("c1", 0, "c"), rec(std::nullopt, 0, "b")}, 1002));
    add(batch({rec("d1", 0, "d"), rec("c2", 0, "c")}, 1003));
}

retention_policy compact_at(std::int64_t now, std::int64_t delete_retention_ms,
                            std::int64_t lag_ms = 0) {
    retention_policy p;
    p.now_ms = now;
    p.compact = true;
    p.delete_retention_ms = delete_retention_ms;
    p.min_compaction_lag_ms = lag_ms;
    return p;
}

TEST_P(Compaction, KeepsTheNewestRecordPerKeyAtItsOffset) {
    auto t = name("compact");
    make_topic(t, 1, {{"cleanup.policy", "compact"}});
    fill_compaction_log([&](std::string b) { append(t, 0, std::move(b)); });

    auto o = run(eng().maintain(t, 0, compact_at(10'000, 1'000'000)));
    EXPECT_EQ(o.error, error_code::none);
    EXPECT_EQ(o.high_watermark, 7) << "compaction never moves the high watermark";
    EXPECT_EQ(o.log_start, 0) << "compaction does not move the log start";
    EXPECT_EQ(offsets(t, 0).high_watermark, 7);

    // Every fetched batch is whole and CRC-valid (split checks), records keep offsets.
    std::vector<kv> want = {{2, "a", "a2"}, {4, "b", std::nullopt}, {5, "d", "d1"}, {6, "c", "c2"}};
    EXPECT_EQ(records_of(fetch_all(t, 0)), want);

    // Fetching from an offset that was compacted away returns what follows it.
    auto r = fetch(t, 0, 3);
    EXPECT_EQ(r.error, error_code::none);
    std::vector<kv> from3;
    for (const auto& x : records_of(split(r)))
        if (x.offset >= 3) from3.push_back(x);
    ASSERT_FALSE(from3.empty());
    EXPECT_EQ(from3.front().offset, 4);
    EXPECT_EQ(fetch(t, 0, 0).error, error_code::none);

    // Compacting again changes nothing; new appends continue at the high watermark.
    run(eng().maintain(t, 0, compact_at(10'000, 1'000'000)));
    EXPECT_EQ(records_of(fetch_all(t, 0)), want);
    EXPECT_EQ(append(t, 0, batch({rec("a3", 0, "a")}, 1004)), 7);
}

TEST_P(Compaction, TombstonesGoAfterDeleteRetention) {
    auto t = name("tomb");
    make_topic(t, 1, {{"cleanup.policy", "compact"}});
    fill_compaction_log([&](std::string b) { append(t, 0, std::move(b)); });
    // The tombstone (timestamp 1002) is older than now - delete.retention.ms = 5'000.
    auto o = run(eng().maintain(t, 0, compact_at(10'000, 5'000)));
    EXPECT_EQ(o.error, error_code::none);
    EXPECT_EQ(o.high_watermark, 7);
    std::vector<kv> want = {{2, "a", "a2"}, {5, "d", "d1"}, {6, "c", "c2"}};
    EXPECT_EQ(records_of(fetch_all(t, 0)), want);
}

TEST_P(Compaction, RecordsYoungerThanTheLagStay) {
    auto t = name("lag");
    make_topic(t, 1, {{"cleanup.policy", "compact"}});
    append(t, 0, batch({rec("a1", 0, "a")}, 8'000));
    append(t, 0, batch({rec("a2", 0, "a")}, 9'000));
    // Lag cutoff 5'000: both are too young to touch.
    run(eng().maintain(t, 0, compact_at(10'000, 1'000'000, 5'000)));
    EXPECT_EQ(records_of(fetch_all(t, 0)), (std::vector<kv>{{0, "a", "a1"}, {1, "a", "a2"}}));
    // Later the superseded one goes.
    run(eng().maintain(t, 0, compact_at(20'000, 1'000'000, 5'000)));
    EXPECT_EQ(records_of(fetch_all(t, 0)), (std::vector<kv>{{1, "a", "a2"}}));
}

TEST_P(Compaction, WorksInsideCompressedBatches) {
    auto t = name("zcompact");
    make_topic(t, 1, {{"cleanup.policy", "compact"}});
    protocol::batch_builder_options o;
    o.codec = protocol::compression::zstd;
    append(t, 0, batch({rec("x1", 0, "x"), rec("y1", 0, "y"), rec("x2", 0, "x")}, 1000, o));
    o.codec = protocol::compression::lz4;
    append(t, 0, batch({rec("y2", 0, "y"), rec("z1", 0, "z")}, 1001, o));
    run(eng().maintain(t, 0, compact_at(10'000, 1'000'000)));
    EXPECT_EQ(records_of(fetch_all(t, 0)),
              (std::vector<kv>{{2, "x", "x2"}, {3, "y", "y2"}, {4, "z", "z1"}}));
}

}  // namespace
}  // namespace hako::conformance
