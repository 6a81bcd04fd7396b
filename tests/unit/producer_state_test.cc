#include <gtest/gtest.h>

#include "storage/producer_state.h"

using namespace hako::storage;
using hako::protocol::error_code;

namespace {
append_request batch(std::int16_t epoch, std::int32_t seq, std::int32_t count) {
    append_request r;
    r.producer_id = 7;
    r.producer_epoch = epoch;
    r.base_sequence = seq;
    r.record_count = count;
    return r;
}
}  // namespace

TEST(producer_state, new_producer_starts_at_zero) {
    EXPECT_EQ(check_sequence(std::nullopt, batch(0, 0, 3)).error, error_code::none);
    EXPECT_EQ(check_sequence(std::nullopt, batch(0, 5, 3)).error,
              error_code::out_of_order_sequence_number);
}

TEST(producer_state, in_order_duplicate_gap_and_fencing) {
    producer_entry e;
    remember_batch(e, batch(0, 0, 3), 100);  // seq 0..2 at offset 100
    remember_batch(e, batch(0, 3, 2), 103);  // seq 3..4 at offset 103
    std::optional<producer_entry> s = e;
    EXPECT_EQ(check_sequence(s, batch(0, 5, 1)).error, error_code::none);
    auto dup = check_sequence(s, batch(0, 0, 3));
    EXPECT_EQ(dup.error, error_code::none);
    EXPECT_EQ(dup.duplicate_of, 100);
    EXPECT_EQ(check_sequence(s, batch(0, 3, 2)).duplicate_of, 103);
    EXPECT_EQ(check_sequence(s, batch(0, 7, 1)).error, error_code::out_of_order_sequence_number);
    EXPECT_EQ(check_sequence(s, batch(0, 1, 2)).error, error_code::out_of_order_sequence_number);
    // a bumped epoch restarts at 0; an older epoch is fenced
    EXPECT_EQ(check_sequence(s, batch(1, 0, 1)).error, error_code::none);
    EXPECT_EQ(check_sequence(s, batch(1, 5, 1)).error, error_code::out_of_order_sequence_number);
    e.epoch = 3;
    EXPECT_EQ(check_sequence(std::optional(e), batch(2, 5, 1)).error,
              error_code::invalid_producer_epoch);
}

TEST(producer_state, keeps_five_batches_and_round_trips) {
    producer_entry e;
    for (int i = 0; i < 8; ++i) remember_batch(e, batch(0, i, 1), 10 + i);
    ASSERT_EQ(e.recent.size(), 5u);
    EXPECT_EQ(e.recent.front().first_sequence, 3);
    auto back = producer_entry::decode(e.encode());
    EXPECT_EQ(back.epoch, 0);
    ASSERT_EQ(back.recent.size(), 5u);
    EXPECT_EQ(back.recent.back().base_offset, 17);
    EXPECT_THROW(producer_entry::decode(std::string("\x02", 1)), hako::protocol::decode_error);
}

TEST(producer_state, sequence_wraps_after_int32_max) {
    producer_entry e;
    remember_batch(e, batch(0, 0, 1), 0);
    e.recent.back().last_sequence = INT32_MAX;  // as if the producer had sent 2^31 records
    EXPECT_EQ(check_sequence(std::optional(e), batch(0, 0, 1)).error, error_code::none);
}
