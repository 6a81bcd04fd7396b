// The latency histogram of `hako perf` (src/cli/perf_histogram.h).
#include <gtest/gtest.h>

#include "cli/perf_histogram.h"

using hako::cli::perf::histogram;

TEST(PerfHistogram, BucketsAreContiguousAndBoundValues) {
    // every value lands in a bucket whose upper bound is >= it and within 1/64 of it
    for (std::uint64_t v : {0ull, 1ull, 63ull, 64ull, 65ull, 127ull, 128ull, 129ull, 1000ull,
                            123456789ull, (1ull << 40) + 12345, ~0ull}) {
        auto i = histogram::index(v);
        EXPECT_GE(histogram::upper(i), v);
        if (i > 0) {
            EXPECT_LT(histogram::upper(i - 1), v);
        }
        EXPECT_LE(histogram::upper(i) - v, v / 64 + 1);
    }
}

TEST(PerfHistogram, Percentiles) {
    histogram h;
    EXPECT_EQ(h.percentile(0.5), 0u);
    for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v);
    EXPECT_EQ(h.count(), 1000u);
    EXPECT_EQ(h.max(), 1000u);
    auto p50 = h.percentile(0.5), p99 = h.percentile(0.99);
    EXPECT_GE(p50, 500u);
    EXPECT_LE(p50, 508u);
    EXPECT_GE(p99, 990u);
    EXPECT_LE(p99, 1000u);
    EXPECT_EQ(h.percentile(1.0), 1000u);  // capped at the exact maximum
}

TEST(PerfHistogram, Merge) {
    histogram a, b;
    a.record(10);
    b.record(1'000'000);
    a.merge(b);
    EXPECT_EQ(a.count(), 2u);
    EXPECT_EQ(a.max(), 1'000'000u);
    EXPECT_EQ(a.percentile(0.5), 10u);
}
