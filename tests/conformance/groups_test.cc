// Consumer groups: compare-and-swap of the coordinator's state, and committed offsets.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "conformance.h"

namespace hako::conformance {
namespace {

using storage::committed_offset;

HAKO_CONFORMANCE_SUITE(Groups);

TEST_P(Groups, CompareAndSwapAcceptsOnlyTheCurrentVersion) {
    auto g = name("cas");
    EXPECT_FALSE(run(eng().load_group(g)).has_value());

    auto v1 = run(eng().store_group(g, "one", 0));
    ASSERT_TRUE(v1.has_value()) << "creating with expected version 0 must succeed";
    EXPECT_GT(*v1, 0);
    auto s = run(eng().load_group(g));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->group_id, g);
    EXPECT_EQ(s->data, "one");
    EXPECT_EQ(s->version, *v1);

    // Create-if-absent loses once the group exists.
    EXPECT_FALSE(run(eng().store_group(g, "clobber", 0)).has_value());

    auto v2 = run(eng().store_group(g, "two", *v1));
    ASSERT_TRUE(v2.has_value());
    EXPECT_NE(*v2, *v1);
    EXPECT_GT(*v2, 0);

    // A writer still holding v1 lost the race.
    EXPECT_FALSE(run(eng().store_group(g, "stale", *v1)).has_value());
    EXPECT_FALSE(run(eng().store_group(g, "made-up", *v2 + 1000)).has_value());
    s = run(eng().load_group(g));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->data, "two");
    EXPECT_EQ(s->version, *v2);
}

TEST_P(Groups, StoreOnAnAbsentGroupWithANonZeroVersionCreatesNothing) {
    auto g = name("ghost");
    EXPECT_FALSE(run(eng().store_group(g, "x", 7)).has_value());
    EXPECT_FALSE(run(eng().load_group(g)).has_value())
        << "a failed store must not leave a group behind";
    for (const auto& l : run(eng().list_groups())) EXPECT_NE(l.group_id, g);
    EXPECT_TRUE(run(eng().store_group(g, "real", 0)).has_value());
}

TEST_P(Groups, DeleteNeedsTheCurrentVersion) {
    auto g = name("del");
    EXPECT_FALSE(run(eng().delete_group(g, 0)));
    EXPECT_FALSE(run(eng().delete_group(g, 1)));
    auto v1 = run(eng().store_group(g, "a", 0));
    ASSERT_TRUE(v1.has_value());
    auto v2 = run(eng().store_group(g, "b", *v1));
    ASSERT_TRUE(v2.has_value());

    EXPECT_FALSE(run(eng().delete_group(g, *v1))) << "delete with a stale version succeeded";
    EXPECT_FALSE(run(eng().delete_group(g, 0)));
    ASSERT_TRUE(run(eng().load_group(g)).has_value());

    EXPECT_TRUE(run(eng().delete_group(g, *v2)));
    EXPECT_FALSE(run(eng().load_group(g)).has_value());
    EXPECT_FALSE(run(eng().delete_group(g, *v2)));
    // Gone means absent: only a create (expected 0) brings it back.
    EXPECT_FALSE(run(eng().store_group(g, "c", *v2)).has_value());
    auto v3 = run(eng().store_group(g, "c", 0));
    ASSERT_TRUE(v3.has_value());
    auto s = run(eng().load_group(g));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->data, "c");
}

TEST_P(Groups, DeleteGroupRemovesItsCommittedOffsets) {
    auto t = name("t");
    make_topic(t, 2);
    auto g = name("del-offsets"), other = name("other");
    auto v = run(eng().store_group(g, "s", 0));
    ASSERT_TRUE(v.has_value());
    run(eng().commit_offsets(g, {{t, 0, 5, -1, std::nullopt, 1}, {t, 1, 6, -1, "m", 1}}));
    run(eng().commit_offsets(other, {{t, 0, 9, -1, std::nullopt, 1}}));
    ASSERT_TRUE(run(eng().delete_group(g, *v)));
    EXPECT_TRUE(run(eng().fetch_offsets(g)).empty());
    ASSERT_EQ(run(eng().fetch_offsets(other)).size(), 1u);
}

// A coordinator that loaded version v before the group was deleted and created again
// must not be able to store over the new group: versions are not reused.
TEST_P(Groups, AVersionIsNotReusedAfterDeleteAndRecreate) {
    auto g = name("aba");
    auto v1 = run(eng().store_group(g, "first life", 0));
    ASSERT_TRUE(v1.has_value());
    ASSERT_TRUE(run(eng().delete_group(g, *v1)));
    auto w1 = run(eng().store_group(g, "second life", 0));
    ASSERT_TRUE(w1.has_value());
    EXPECT_NE(*w1, *v1);
    EXPECT_FALSE(run(eng().store_group(g, "stale writer", *v1)).has_value());
    auto s = run(eng().load_group(g));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->data, "second life") << "a stale coordinator overwrote the re-created group";
}

TEST_P(Groups, ListGroupsReturnsEveryStoredGroup) {
    std::map<std::string, std::int64_t> made;
    for (const char* base : {"list.b", "list.a", "list.c"}) {
        auto g = name(base);
        auto v = run(eng().store_group(g, std::string("data of ") + base, 0));
        ASSERT_TRUE(v.has_value());
        made[g] = *v;
    }
    auto gone = name("list.gone");
    auto vg = run(eng().store_group(gone, "x", 0));
    ASSERT_TRUE(vg.has_value());
    ASSERT_TRUE(run(eng().delete_group(gone, *vg)));

    std::map<std::string, storage::group_state> ours;
    for (auto& s : run(eng().list_groups()))
        if (s.group_id.find(token()) != std::string::npos) ours[s.group_id] = s;
    ASSERT_EQ(ours.size(), made.size());
    for (const auto& [g, v] : made) {
        ASSERT_TRUE(ours.count(g)) << g;
        EXPECT_EQ(ours[g].version, v);
        EXPECT_EQ(ours[g].data, "data of " + g.substr(0, g.find('-')));
    }
}

TEST_P(Groups, GroupStateIsOpaqueBytes) {
    auto g = name("bytes");
    std::string data;
    for (int i = 0; i < 70'000; ++i) data.push_back(static_cast<char>(i * 7 + i / 256));
    data[0] = '\0';
    data[1] = '\xff';
    auto v = run(eng().store_group(g, data, 0));
    ASSERT_TRUE(v.has_value());
    auto s = run(eng().load_group(g));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->data.size(), data.size());
    EXPECT_TRUE(s->data == data) << "group state did not round-trip byte for byte";
    EXPECT_TRUE(run(eng().store_group(g, "", *v)).has_value());
    s = run(eng().load_group(g));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->data, "");
}

// Many coordinators (coroutines here) read-modify-write one group at once: every
// increment lands exactly once, and no two successful stores return the same version.
TEST_P(Groups, ConcurrentCompareAndSwapLosesNoUpdate) {
    auto g = name("counter");
    constexpr int workers = 8, each = 5;
    std::vector<std::int64_t> versions;
    std::vector<awaitable<void>> ops;
    for (int w = 0; w < workers; ++w) ops.push_back(cas_increment(eng(), g, each, versions));
    run_all(std::move(ops));
    auto s = run(eng().load_group(g));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->data, std::to_string(workers * each)) << "an update was lost";
    EXPECT_EQ(std::set<std::int64_t>(versions.begin(), versions.end()).size(), versions.size())
        << "two stores returned the same version";
}

// --- committed offsets -------------------------------------------------------------------

auto key(const committed_offset& o) {
    return std::tie(o.topic, o.partition);
}

std::vector<committed_offset> sorted(std::vector<committed_offset> v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return key(a) < key(b); });
    return v;
}

void expect_offsets(std::vector<committed_offset> got, std::vector<committed_offset> want) {
    got = sorted(std::move(got));
    want = sorted(std::move(want));
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        SCOPED_TRACE(want[i].topic + "/" + std::to_string(want[i].partition));
        EXPECT_EQ(got[i].topic, want[i].topic);
        EXPECT_EQ(got[i].partition, want[i].partition);
        EXPECT_EQ(got[i].offset, want[i].offset);
        EXPECT_EQ(got[i].leader_epoch, want[i].leader_epoch);
        EXPECT_EQ(got[i].metadata.has_value(), want[i].metadata.has_value())
            << "null and empty metadata are different";
        EXPECT_EQ(got[i].metadata, want[i].metadata);
        EXPECT_EQ(got[i].commit_timestamp, want[i].commit_timestamp);
    }
}

TEST_P(Groups, CommittedOffsetsRoundTripExactly) {
    auto t = name("t"), u = name("u");
    make_topic(t, 3);
    make_topic(u, 1);
    auto g = name("offsets");
    std::vector<committed_offset> in = {
        {t, 0, 42, 7, "meta", 1'700'000'000'000},
        {t, 1, 0, -1, std::nullopt, 1'700'000'000'001},
        {t, 2, (std::int64_t{1} << 40) + 3, 2'147'483'647, "", 1'700'000'000'002},
        {u, 0, 5, 0, std::string(4096, 'm') + "\xc3\xa4\xe2\x9c\x93", -1},
    };
    run(eng().commit_offsets(g, in));
    expect_offsets(run(eng().fetch_offsets(g)), in);
    // Committed offsets need no stored group state (a consumer that assigns partitions
    // itself commits without joining).
    EXPECT_FALSE(run(eng().load_group(g)).has_value());
    EXPECT_TRUE(run(eng().fetch_offsets(name("nobody"))).empty());
}

TEST_P(Groups, CommitReplacesPerPartitionAndGroupsAreSeparate) {
    auto t = name("t");
    make_topic(t, 3);
    auto g = name("a"), h = name("b");
    run(eng().commit_offsets(g, {{t, 0, 1, 1, "first", 10}, {t, 1, 1, 1, "first", 10}}));
    run(eng().commit_offsets(h, {{t, 0, 100, 4, "other group", 11}}));
    // A second commit replaces the named partitions whole (metadata back to null too)
    // and leaves the others as they were.
    run(eng().commit_offsets(g, {{t, 0, 2, -1, std::nullopt, 20}, {t, 2, 3, 2, "new", 21}}));
    expect_offsets(
        run(eng().fetch_offsets(g)),
        {{t, 0, 2, -1, std::nullopt, 20}, {t, 1, 1, 1, "first", 10}, {t, 2, 3, 2, "new", 21}});
    expect_offsets(run(eng().fetch_offsets(h)), {{t, 0, 100, 4, "other group", 11}});
    // Offsets may go backwards (a consumer resetting its position).
    run(eng().commit_offsets(g, {{t, 0, 0, -1, std::nullopt, 30}}));
    auto got = sorted(run(eng().fetch_offsets(g)));
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got[0].offset, 0);
}

TEST_P(Groups, DeleteOffsetsRemovesOnlyTheNamedPartitions) {
    auto t = name("t"), u = name("u");
    make_topic(t, 3);
    make_topic(u, 1);
    auto g = name("g"), h = name("h");
    run(eng().commit_offsets(g, {{t, 0, 1, -1, std::nullopt, 1},
                                 {t, 1, 2, -1, std::nullopt, 1},
                                 {t, 2, 3, -1, std::nullopt, 1},
                                 {u, 0, 4, -1, std::nullopt, 1}}));
    run(eng().commit_offsets(h, {{t, 1, 9, -1, std::nullopt, 1}}));
    run(eng().delete_offsets(g, {{t, 1}, {u, 0}, {t, 7}, {name("none"), 0}}));
    expect_offsets(run(eng().fetch_offsets(g)),
                   {{t, 0, 1, -1, std::nullopt, 1}, {t, 2, 3, -1, std::nullopt, 1}});
    expect_offsets(run(eng().fetch_offsets(h)), {{t, 1, 9, -1, std::nullopt, 1}});
    // An empty list deletes nothing; an unknown group is not an error.
    run(eng().delete_offsets(g, {}));
    EXPECT_EQ(run(eng().fetch_offsets(g)).size(), 2u);
    run(eng().delete_offsets(name("nobody"), {{t, 0}}));
}

}  // namespace
}  // namespace hako::conformance
