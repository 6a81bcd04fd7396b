// Topic and config lifecycle: create, describe, list, configs, partitions, delete.
#include <algorithm>

#include "conformance.h"

namespace hako::conformance {
namespace {

HAKO_CONFORMANCE_SUITE(Topics);

void expect_same_topic(const storage::topic_info& got, const storage::topic_info& want) {
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.partitions, want.partitions);
    EXPECT_EQ(got.configs, want.configs);
}

TEST_P(Topics, CreateFillsAnIdAndDescribeFindsItByNameAndById) {
    auto t = name("orders");
    storage::config_map cfg = {{"cleanup.policy", "compact"},
                               {"retention.ms", "3600000"},
                               {"x.unicode", "h\xc3\xa4ko \xe2\x9c\x93"}};
    auto info = make_topic(t, 3, cfg);
    EXPECT_NE(info.id, protocol::uuid{}) << "create_topic must fill in a topic id";
    EXPECT_EQ(info.partitions, 3);
    EXPECT_EQ(info.configs, cfg);

    auto by_name = run(eng().describe_topic(t));
    ASSERT_TRUE(by_name.has_value());
    expect_same_topic(*by_name, info);
    auto by_id = run(eng().describe_topic_by_id(info.id));
    ASSERT_TRUE(by_id.has_value());
    expect_same_topic(*by_id, info);

    EXPECT_FALSE(run(eng().describe_topic(name("absent"))).has_value());
    EXPECT_FALSE(run(eng().describe_topic_by_id(storage::random_uuid())).has_value());
    EXPECT_FALSE(run(eng().describe_topic_by_id(protocol::uuid{})).has_value());

    auto other = make_topic(name("other"), 1);
    EXPECT_NE(other.id, info.id) << "two topics share an id";
    EXPECT_NE(other.id, protocol::uuid{});
}

TEST_P(Topics, CreatingATakenNameIsTopicAlreadyExists) {
    auto t = name("taken");
    auto first = make_topic(t, 2, {{"retention.ms", "1"}});
    storage::topic_info again;
    again.name = t;
    again.partitions = 5;
    again.configs = {{"retention.ms", "2"}};
    EXPECT_EQ(run(eng().create_topic(again)), error_code::topic_already_exists);
    // The existing topic is unchanged.
    auto d = run(eng().describe_topic(t));
    ASSERT_TRUE(d.has_value());
    expect_same_topic(*d, first);
}

TEST_P(Topics, ListIsSortedByName) {
    std::vector<storage::topic_info> made;
    for (const char* base : {"m", "a", "z", "b", "a.b", "a-b"})
        made.push_back(
            make_topic(name(std::string("list.") + base), 1 + static_cast<int>(made.size())));
    auto all = run(eng().list_topics());
    EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                               [](const auto& a, const auto& b) { return a.name < b.name; }));
    std::vector<storage::topic_info> ours;
    for (const auto& t : all)
        if (t.name.find(token()) != std::string::npos) ours.push_back(t);
    std::sort(made.begin(), made.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    ASSERT_EQ(ours.size(), made.size());
    for (std::size_t i = 0; i < ours.size(); ++i) expect_same_topic(ours[i], made[i]);
}

TEST_P(Topics, SetTopicConfigsReplacesTheWholeMap) {
    auto t = name("cfg");
    auto info = make_topic(t, 2, {{"retention.ms", "1000"}, {"cleanup.policy", "compact"}});
    EXPECT_EQ(run(eng().set_topic_configs(t, {{"retention.ms", "5"}, {"segment.ms", "7"}})),
              error_code::none);
    auto d = run(eng().describe_topic(t));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->configs, (storage::config_map{{"retention.ms", "5"}, {"segment.ms", "7"}}))
        << "a config left out of the new map must be gone";
    EXPECT_EQ(d->id, info.id);
    EXPECT_EQ(d->partitions, 2);

    EXPECT_EQ(run(eng().set_topic_configs(t, {})), error_code::none);
    d = run(eng().describe_topic(t));
    ASSERT_TRUE(d.has_value());
    EXPECT_TRUE(d->configs.empty());

    EXPECT_EQ(run(eng().set_topic_configs(name("absent"), {{"a", "b"}})),
              error_code::unknown_topic_or_partition);
}

TEST_P(Topics, CreatePartitionsGrowsAndNeverShrinks) {
    auto t = name("grow");
    auto info = make_topic(t, 2);
    append(t, 0, batch_n(3, "keep"));

    EXPECT_EQ(run(eng().create_partitions(t, 5)), error_code::none);
    auto d = run(eng().describe_topic(t));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->partitions, 5);
    EXPECT_EQ(d->id, info.id);
    for (std::int32_t p = 2; p < 5; ++p) {
        auto o = offsets(t, p);
        EXPECT_EQ(o.error, error_code::none) << "new partition " << p;
        EXPECT_EQ(o.high_watermark, 0);
    }
    EXPECT_EQ(append(t, 4, batch_n(2, "new")), 0);
    EXPECT_EQ(offsets(t, 4).high_watermark, 2);
    // Existing partitions keep their data.
    auto vs = values(fetch_all(t, 0));
    ASSERT_EQ(vs.size(), 3u);
    EXPECT_EQ(vs[2].second, "keep-2");

    for (std::int32_t total : {5, 3, 1, 0, -1}) {
        SCOPED_TRACE("total " + std::to_string(total));
        EXPECT_EQ(run(eng().create_partitions(t, total)), error_code::invalid_partitions);
    }
    d = run(eng().describe_topic(t));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->partitions, 5);
    EXPECT_EQ(run(eng().append(request(t, 5, batch_n(1, "x")))).error,
              error_code::unknown_topic_or_partition);

    EXPECT_EQ(run(eng().create_partitions(name("absent"), 3)),
              error_code::unknown_topic_or_partition);
}

TEST_P(Topics, DeleteRemovesTheTopicItsLogAndItsCommittedOffsets) {
    auto t = name("doomed");
    auto keep = name("kept");
    auto info = make_topic(t, 2);
    make_topic(keep, 1);
    append(t, 0, batch_n(3, "gone"));
    append(t, 1, batch_n(1, "gone"));
    append(keep, 0, batch_n(2, "stays"));

    auto g = name("g"), g2 = name("g2");
    ASSERT_TRUE(run(eng().store_group(g, "state", 0)).has_value());
    run(eng().commit_offsets(
        g,
        {{t, 0, 3, -1, "m", 100}, {t, 1, 1, -1, std::nullopt, 100}, {keep, 0, 2, -1, "k", 100}}));
    run(eng().commit_offsets(g2, {{t, 0, 1, -1, std::nullopt, 100}}));

    EXPECT_EQ(run(eng().delete_topic(t)), error_code::none);

    EXPECT_FALSE(run(eng().describe_topic(t)).has_value());
    EXPECT_FALSE(run(eng().describe_topic_by_id(info.id)).has_value());
    for (const auto& l : run(eng().list_topics())) EXPECT_NE(l.name, t);
    EXPECT_EQ(offsets(t, 0).error, error_code::unknown_topic_or_partition);
    EXPECT_EQ(fetch(t, 0, 0).error, error_code::unknown_topic_or_partition);
    EXPECT_EQ(run(eng().append(request(t, 0, batch_n(1, "x")))).error,
              error_code::unknown_topic_or_partition);

    // Committed offsets of the deleted topic are gone from every group; others stay, and
    // so does the group's own state.
    auto offs = run(eng().fetch_offsets(g));
    ASSERT_EQ(offs.size(), 1u);
    EXPECT_EQ(offs[0].topic, keep);
    EXPECT_EQ(offs[0].offset, 2);
    EXPECT_TRUE(run(eng().fetch_offsets(g2)).empty());
    auto gs = run(eng().load_group(g));
    ASSERT_TRUE(gs.has_value());
    EXPECT_EQ(gs->data, "state");

    EXPECT_EQ(run(eng().delete_topic(t)), error_code::unknown_topic_or_partition);

    // A new topic of the same name starts empty with a new id: nothing comes back.
    auto again = make_topic(t, 2);
    EXPECT_NE(again.id, info.id);
    for (std::int32_t p = 0; p < 2; ++p) {
        auto o = offsets(t, p);
        EXPECT_EQ(o.log_start, 0);
        EXPECT_EQ(o.high_watermark, 0);
        auto r = fetch(t, p, 0);
        EXPECT_EQ(r.error, error_code::none);
        EXPECT_TRUE(r.records.empty());
    }
    EXPECT_EQ(run(eng().max_timestamp(t, 0)).offset, -1);
    EXPECT_EQ(run(eng().fetch_offsets(g)).size(), 1u);
    EXPECT_EQ(append(t, 0, batch_n(1, "fresh")), 0);

    // The other topic's log is intact.
    auto vs = values(fetch_all(keep, 0));
    ASSERT_EQ(vs.size(), 2u);
    EXPECT_EQ(vs[1].second, "stays-1");
}

TEST_P(Topics, DeletingAnUnknownTopicFails) {
    EXPECT_EQ(run(eng().delete_topic(name("never"))), error_code::unknown_topic_or_partition);
}

}  // namespace
}  // namespace hako::conformance
