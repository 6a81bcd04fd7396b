// Record batch v2: hand-derived golden bytes, build/parse round trips for every codec, the
// broker's in-place patches, splitting, validation, and malformed input.
#include "protocol/record_batch.h"

#include <gtest/gtest.h>

#include <random>

#include "protocol/crc32c.h"
#include "protocol/wire.h"

namespace hako::protocol {
namespace {

constexpr compression all_codecs[] = {compression::none, compression::gzip, compression::snappy,
                                      compression::lz4, compression::zstd};
constexpr std::size_t limit = 64u << 20;

std::string hex(std::string_view h) {
    std::string out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}

record make_record(std::int32_t offset_delta, std::optional<std::string> key,
                   std::optional<std::string> value, std::int64_t ts_delta = 0,
                   std::vector<record_header> headers = {}) {
    record r;
    r.offset_delta = offset_delta;
    r.timestamp_delta = ts_delta;
    r.key = std::move(key);
    r.value = std::move(value);
    r.headers = std::move(headers);
    return r;
}

// A batch around arbitrary record bytes, with a correct CRC, for feeding malformed records.
std::string raw_batch(std::string_view body, std::int32_t count, std::int16_t attributes = 0,
                      std::optional<std::int32_t> last_delta = std::nullopt) {
    writer w;
    w.write_i64(0);
    w.write_i32(static_cast<std::int32_t>(49 + body.size()));
    w.write_i32(-1);
    w.write_i8(2);
    w.write_u32(0);
    w.write_i16(attributes);
    w.write_i32(last_delta.value_or(count - 1));
    w.write_i64(1000);
    w.write_i64(1000);
    w.write_i64(-1);
    w.write_i16(-1);
    w.write_i32(-1);
    w.write_i32(count);
    w.write_raw(body);
    auto s = w.take();
    // Computed here rather than by update_crc(), which refuses the bad counts some tests need.
    auto crc = crc32c(std::string_view(s).substr(21));
    for (int i = 0; i < 4; ++i) s[17 + i] = static_cast<char>(crc >> (24 - 8 * i));
    return s;
}

// ---- golden batches: bytes derived by hand from wire notes §6/§7 ----------------------
//
// Golden 1: one record key "k" value "v", CreateTime 1000, not idempotent.
//   header: base_offset 0, batch_length 58 (0x3a), epoch -1, magic 2, crc, attributes 0,
//   last_offset_delta 0, base/max timestamp 1000 (0x3e8), pid -1, epoch -1, seq -1, count 1
//   record: length 8 (zigzag 0x10), attributes 00, ts delta 00, offset delta 00,
//   key len 1 (zigzag 02) 'k', value len 1 (02) 'v', header count 00
const std::string golden1 =
    hex("0000000000000000"  // base_offset
        "0000003a"          // batch_length
        "ffffffff"          // partition_leader_epoch
        "02"                // magic
        "716a6189"          // crc (over the rest)
        "0000"              // attributes
        "00000000"          // last_offset_delta
        "00000000000003e8"  // base_timestamp
        "00000000000003e8"  // max_timestamp
        "ffffffffffffffff"  // producer_id
        "ffff"              // producer_epoch
        "ffffffff"          // base_sequence
        "00000001"          // records_count
        "10"                // record length 8
        "00"                // attributes
        "00"                // timestamp delta 0
        "00"                // offset delta 0
        "026b"              // key: length 1, 'k'
        "0276"              // value: length 1, 'v'
        "00");              // header count 0

// Golden 2: base_offset 5, leader epoch 7, transactional (attributes 0x10), pid 0x1234,
// epoch 3, base sequence 7, base timestamp 1700000000000, two records:
//   r0: len 11 (0x16), attr 0, ts 0, off 0, null key (zigzag -1 = 01), value "ab" (04),
//       1 header (02): key "h" (02 68), null value (01)
//   r1: len 15 (0x1e), attr 0, ts delta 300 (zigzag 600 = varint d8 04), off 1 (02), key "k",
//       null value, 2 headers (04): "a" -> "" (02 61 00), "a" -> "x" (02 61 02 78)
//   max timestamp = base + 300; batch_length = 49 + 28 = 77 (0x4d)
const std::string golden2 =
    hex("0000000000000005"  // base_offset
        "0000004d"          // batch_length
        "00000007"          // partition_leader_epoch
        "02"                // magic
        "eb1aac77"          // crc (over the rest)
        "0010"              // attributes
        "00000001"          // last_offset_delta
        "0000018bcfe56800"  // base_timestamp
        "0000018bcfe5692c"  // max_timestamp
        "0000000000001234"  // producer_id
        "0003"              // producer_epoch
        "00000007"          // base_sequence
        "00000002"          // records_count
        "16"                // r0 length 11
        "00"                // r0 attributes
        "00"                // r0 timestamp delta 0
        "00"                // r0 offset delta 0
        "01"                // r0 key: null (-1)
        "046162"            // r0 value: length 2, 'ab'
        "02"                // r0 header count 1
        "0268"              // r0 h0 key: length 1, 'h'
        "01"                // r0 h0 value: null
        "1e"                // r1 length 15
        "00"                // r1 attributes
        "d804"              // r1 timestamp delta 300
        "02"                // r1 offset delta 1
        "026b"              // r1 key: 'k'
        "01"                // r1 value: null (tombstone)
        "04"                // r1 header count 2
        "0261"              // r1 h0 key 'a'
        "00"                // r1 h0 value: empty, not null
        "0261"              // r1 h1 key 'a' again
        "0278");            // r1 h1 value 'x'

// Golden 3: golden 1's record compressed with snappy (attributes 0x0002) as a raw block
// holding one literal: uncompressed length 9 (09), literal tag (9-1)<<2 = 0x20, 9 bytes.
// batch_length = 49 + 11 = 60 (0x3c).
const std::string golden3 =
    hex("0000000000000000"      // base_offset
        "0000003c"              // batch_length
        "ffffffff"              // partition_leader_epoch
        "02"                    // magic
        "f30d12e5"              // crc (over the rest)
        "0002"                  // attributes
        "00000000"              // last_offset_delta
        "00000000000003e8"      // base_timestamp
        "00000000000003e8"      // max_timestamp
        "ffffffffffffffff"      // producer_id
        "ffff"                  // producer_epoch
        "ffffffff"              // base_sequence
        "00000001"              // records_count
        "09"                    // snappy: uncompressed length 9
        "20"                    // snappy: literal tag, length (9-1)<<2
        "10000000026b027600");  // golden 1's record

TEST(GoldenBatch, SingleRecordDecodes) {
    auto h = read_batch_header(golden1);
    EXPECT_EQ(h.total_size(), golden1.size());
    EXPECT_EQ(h.base_timestamp, 1000);
    EXPECT_EQ(h.records_count, 1);
    EXPECT_EQ(h.codec(), compression::none);
    EXPECT_TRUE(crc_ok(golden1));
    EXPECT_EQ(validate_produced_batch(golden1), error_code::none);
    auto recs = decode_records(golden1, limit);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0], make_record(0, "k", "v"));
}

TEST(GoldenBatch, SingleRecordEncodes) {
    batch_builder_options o;
    o.base_timestamp = 1000;
    EXPECT_EQ(build_batch(o, {make_record(0, "k", "v")}), golden1);
}

TEST(GoldenBatch, IdempotentTransactionalDecodes) {
    auto h = read_batch_header(golden2);
    EXPECT_EQ(h.base_offset, 5);
    EXPECT_EQ(h.partition_leader_epoch, 7);
    EXPECT_TRUE(h.is_transactional());
    EXPECT_FALSE(h.is_control());
    EXPECT_EQ(h.producer_id, 0x1234);
    EXPECT_EQ(h.producer_epoch, 3);
    EXPECT_EQ(h.base_sequence, 7);
    EXPECT_EQ(h.last_offset(), 6);
    EXPECT_EQ(h.max_timestamp, 1700000000300);
    EXPECT_TRUE(crc_ok(golden2));
    auto recs = decode_records(golden2, limit);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0], make_record(0, std::nullopt, "ab", 0, {{"h", std::nullopt}}));
    EXPECT_EQ(recs[1], make_record(1, "k", std::nullopt, 300, {{"a", ""}, {"a", "x"}}));
}

TEST(GoldenBatch, IdempotentTransactionalEncodes) {
    batch_builder_options o;
    o.base_offset = 5;
    o.partition_leader_epoch = 7;
    o.base_timestamp = 1700000000000;
    o.producer_id = 0x1234;
    o.producer_epoch = 3;
    o.base_sequence = 7;
    o.transactional = true;
    EXPECT_EQ(build_batch(o, {make_record(0, std::nullopt, "ab", 0, {{"h", std::nullopt}}),
                              make_record(1, "k", std::nullopt, 300, {{"a", ""}, {"a", "x"}})}),
              golden2);
}

TEST(GoldenBatch, SnappyDecodesAndEncodes) {
    EXPECT_TRUE(crc_ok(golden3));
    EXPECT_EQ(read_batch_header(golden3).codec(), compression::snappy);
    EXPECT_EQ(decode_records(golden3, limit), std::vector<record>{make_record(0, "k", "v")});
    batch_builder_options o;
    o.base_timestamp = 1000;
    o.codec = compression::snappy;
    // Nine bytes hold no match of 4+ bytes, so snappy emits the single literal too.
    EXPECT_EQ(build_batch(o, {make_record(0, "k", "v")}), golden3);
}

// ---- round trips ---------------------------------------------------------------------

std::vector<record> varied_records(int n) {
    std::vector<record> v;
    std::mt19937 rng(5);
    for (int i = 0; i < n; ++i) {
        std::optional<std::string> key, value;
        if (i % 5 != 0) key = "key-" + std::to_string(i);
        if (i % 7 != 3)
            value =
                std::string(static_cast<std::size_t>(rng() % 300), static_cast<char>('a' + i % 26));
        std::vector<record_header> hs;
        for (int k = 0; k < i % 4; ++k)
            hs.push_back(
                {"h" + std::to_string(k), k == 1 ? std::nullopt : std::optional<std::string>("v")});
        std::int64_t ts =
            (i % 3 == 0) ? -static_cast<std::int64_t>(i) : static_cast<std::int64_t>(i) * 100000;
        v.push_back(make_record(i, key, value, ts, hs));
    }
    v.push_back(make_record(n, "", "", 0));  // empty, not null
    v.push_back(
        make_record(n + 1, std::string(70000, 'z'), std::nullopt, 1));  // multi-byte varints
    return v;
}

class BatchCodecTest : public ::testing::TestWithParam<compression> {};

TEST_P(BatchCodecTest, BuildParseRoundTrip) {
    auto recs = varied_records(200);
    batch_builder_options o;
    o.codec = GetParam();
    o.base_timestamp = 1700000000000;
    o.producer_id = 42;
    o.producer_epoch = 1;
    o.base_sequence = 100;
    auto batch = build_batch(o, recs);
    auto h = read_batch_header(batch);
    EXPECT_EQ(h.total_size(), batch.size());
    EXPECT_EQ(h.codec(), GetParam());
    EXPECT_EQ(h.records_count, static_cast<std::int32_t>(recs.size()));
    EXPECT_EQ(h.last_offset_delta, static_cast<std::int32_t>(recs.size()) - 1);
    EXPECT_EQ(h.max_timestamp, 1700000000000 + 199 * 100000);
    EXPECT_TRUE(crc_ok(batch));
    EXPECT_EQ(validate_produced_batch(batch), error_code::none);
    EXPECT_EQ(validate_batch_records(batch, limit), error_code::none);
    EXPECT_EQ(decode_records(batch, limit), recs);
    if (GetParam() != compression::none) {
        EXPECT_LT(batch.size(), 200000u);  // the repetitive values did compress
        EXPECT_THROW(decode_records(batch, 1000), batch_error);
    }
}

TEST_P(BatchCodecTest, EmptyBatch) {
    batch_builder_options o;
    o.codec = GetParam();
    auto batch = build_batch(o, {});
    EXPECT_EQ(read_batch_header(batch).records_count, 0);
    EXPECT_TRUE(decode_records(batch, limit).empty());
    EXPECT_EQ(validate_produced_batch(batch), error_code::invalid_record);
}

INSTANTIATE_TEST_SUITE_P(All, BatchCodecTest, ::testing::ValuesIn(all_codecs),
                         [](const auto& info) {
                             return std::string(compression_name(info.param));
                         });

// ---- in-place patches ------------------------------------------------------------------

TEST(BatchPatch, BaseOffsetAndEpochKeepCrc) {
    auto batch = golden2;
    set_base_offset(batch, 123456789012);
    set_partition_leader_epoch(batch, 99);
    auto h = read_batch_header(batch);
    EXPECT_EQ(h.base_offset, 123456789012);
    EXPECT_EQ(h.partition_leader_epoch, 99);
    EXPECT_EQ(h.crc, read_batch_header(golden2).crc);
    EXPECT_TRUE(crc_ok(batch));
    EXPECT_EQ(batch.substr(17), golden2.substr(17));
}

TEST(BatchPatch, LogAppendTimeRecomputesCrc) {
    auto batch = golden2;
    set_log_append_time(batch, 1800000000000);
    auto h = read_batch_header(batch);
    EXPECT_TRUE(h.log_append_time());
    EXPECT_TRUE(h.is_transactional());  // other bits kept
    EXPECT_EQ(h.max_timestamp, 1800000000000);
    EXPECT_EQ(h.base_timestamp, 1700000000000);
    EXPECT_NE(h.crc, read_batch_header(golden2).crc);
    EXPECT_TRUE(crc_ok(batch));
    EXPECT_EQ(decode_records(batch, limit), decode_records(golden2, limit));
}

// The checksum of a whole batch from its carried CRC equals a pass over every byte, also
// after the header patches the broker makes (they are outside the carried CRC).
TEST(BatchPatch, WholeBatchChecksumFromTheCarriedCrc) {
    auto batch = golden2;
    EXPECT_EQ(whole_batch_crc32c(batch), crc32c(batch));
    set_base_offset(batch, 77);
    set_partition_leader_epoch(batch, 5);
    EXPECT_EQ(whole_batch_crc32c(batch), crc32c(batch));
    set_log_append_time(batch, 1800000000000);
    EXPECT_EQ(whole_batch_crc32c(batch), crc32c(batch));
    // It trusts the carried CRC: a batch whose CRC is wrong gets a wrong checksum (the S3
    // server then refuses the object rather than storing a corrupt one).
    batch.back() ^= 1;
    EXPECT_NE(whole_batch_crc32c(batch), crc32c(batch));
}

TEST(BatchPatch, RejectsNonBatch) {
    std::string tiny = "short";
    EXPECT_THROW(set_base_offset(tiny, 1), batch_error);
    EXPECT_THROW(set_log_append_time(tiny, 1), batch_error);
    auto cut = golden1.substr(0, golden1.size() - 1);
    EXPECT_THROW(update_crc(cut), batch_error);
}

// ---- splitting ---------------------------------------------------------------------------

TEST(SplitBatches, ConcatenationAndTruncatedTail) {
    auto all = golden1 + golden2 + golden3;
    auto parts = split_batches(all, false);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0], golden1);
    EXPECT_EQ(parts[1], golden2);
    EXPECT_EQ(parts[2], golden3);
    EXPECT_TRUE(split_batches("", false).empty());
    for (std::size_t cut = 1; cut < golden3.size(); ++cut) {
        auto truncated =
            (golden1 + golden2 + golden3).substr(0, golden1.size() + golden2.size() + cut);
        EXPECT_EQ(split_batches(truncated, true).size(), 2u) << cut;
        try {
            split_batches(truncated, false);
            ADD_FAILURE() << "accepted truncated tail at " << cut;
        } catch (const batch_error& e) {
            EXPECT_EQ(e.code, error_code::corrupt_message);
        }
    }
}

TEST(SplitBatches, BadLengthAndLegacyMagic) {
    auto bad = golden1;
    bad[11] = 10;  // batch_length 10 < header
    EXPECT_THROW(split_batches(bad, true), batch_error);
    auto legacy = golden1;
    legacy[16] = 1;
    try {
        split_batches(golden1 + legacy, true);
        ADD_FAILURE();
    } catch (const batch_error& e) {
        EXPECT_EQ(e.code, error_code::unsupported_for_message_format);
    }
}

// ---- validation --------------------------------------------------------------------------

// Applies `edit` to golden1 and recomputes the CRC, so only the edited rule can fail.
error_code validate_edited(void (*edit)(std::string&)) {
    auto b = golden1;
    edit(b);
    update_crc(b);
    return validate_produced_batch(b);
}

TEST(ValidateProduced, Rules) {
    auto bad_crc = golden1;
    bad_crc.back() ^= 1;
    EXPECT_EQ(validate_produced_batch(bad_crc), error_code::corrupt_message);
    EXPECT_FALSE(crc_ok(bad_crc));
    EXPECT_EQ(validate_produced_batch(golden1.substr(0, 40)), error_code::corrupt_message);
    EXPECT_EQ(validate_produced_batch(golden1.substr(0, golden1.size() - 1)),
              error_code::corrupt_message);
    EXPECT_EQ(validate_produced_batch(golden1 + golden1), error_code::invalid_record);
    auto v1 = golden1;
    v1[16] = 1;
    EXPECT_EQ(validate_produced_batch(v1), error_code::unsupported_for_message_format);
    EXPECT_EQ(validate_edited([](std::string& b) { b[22] = 5; }),
              error_code::invalid_record);  // codec 5
    EXPECT_EQ(validate_edited([](std::string& b) { b[22] = 0x20; }),
              error_code::invalid_record);  // control
    EXPECT_EQ(validate_edited([](std::string& b) { b[26] = 1; }),
              error_code::invalid_record);  // last delta 1
    EXPECT_EQ(validate_edited([](std::string& b) { b[60] = 0; }),
              error_code::invalid_record);                                         // count 0
    EXPECT_EQ(validate_edited([](std::string& b) { b.replace(43, 8, 8, '\0'); }),  // pid 0, seq -1
              error_code::invalid_record);
    EXPECT_EQ(validate_edited([](std::string& b) { b[22] = 0x10; }),
              error_code::none);  // transactional
    EXPECT_EQ(validate_produced_batch(golden2), error_code::none);
}

TEST(ValidateRecords, OffsetDeltasMustBeDense) {
    batch_builder_options o;
    auto gap = build_batch(o, {make_record(0, "a", "1"), make_record(2, "b", "2")});
    EXPECT_EQ(validate_batch_records(gap, limit), error_code::invalid_record);
    EXPECT_EQ(validate_batch_records(raw_batch(hex("02"), 1), limit), error_code::corrupt_message);
}

TEST(ControlBatch, TxnMarker) {
    auto marker = build_txn_marker(77, 4, control_type::commit, 12, 1234);
    auto h = read_batch_header(marker);
    EXPECT_TRUE(h.is_control());
    EXPECT_TRUE(h.is_transactional());
    EXPECT_EQ(h.producer_id, 77);
    EXPECT_EQ(h.producer_epoch, 4);
    EXPECT_EQ(h.base_sequence, -1);
    EXPECT_EQ(h.records_count, 1);
    EXPECT_TRUE(crc_ok(marker));
    auto recs = decode_records(marker, limit);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(*recs[0].key, hex("00000001"));
    EXPECT_EQ(*recs[0].value, hex("00000000000c"));
    EXPECT_EQ(read_control_type(recs[0]), control_type::commit);
    EXPECT_EQ(validate_produced_batch(marker), error_code::invalid_record);  // not from a client
    EXPECT_EQ(read_control_type(make_record(0, "ab", std::nullopt)), std::nullopt);
}

// ---- malformed input -----------------------------------------------------------------------

void expect_corrupt(const std::string& batch, const char* what) {
    try {
        decode_records(batch, limit);
        ADD_FAILURE() << "accepted: " << what;
    } catch (const batch_error& e) {
        EXPECT_EQ(e.code, error_code::corrupt_message) << what;
    }
}

TEST(MalformedBatch, EveryPrefixRejected) {
    for (const auto* g : {&golden1, &golden2, &golden3})
        for (std::size_t n = 0; n < g->size(); ++n) {
            EXPECT_THROW(read_batch_header(g->substr(0, n)), batch_error) << n;
            EXPECT_THROW(decode_records(g->substr(0, n), limit), batch_error) << n;
            EXPECT_NE(validate_produced_batch(g->substr(0, n)), error_code::none) << n;
            EXPECT_FALSE(crc_ok(g->substr(0, n))) << n;
        }
}

TEST(MalformedBatch, BadRecords) {
    // record: len 8, attr, ts, off, key 'k', value 'v', 0 headers (as golden 1)
    expect_corrupt(raw_batch(hex("1000000002"
                                 "6b02"
                                 "7600"),
                             2),
                   "fewer records than the count");
    expect_corrupt(raw_batch(hex("1000000002"
                                 "6b02"
                                 "7600"
                                 "00"),
                             1),
                   "bytes after the last record");
    expect_corrupt(raw_batch(hex("0f000000026b027600"), 1), "record length too short (-8)");
    expect_corrupt(raw_batch(hex("0e000000026b02760000"), 1), "record length too short for fields");
    expect_corrupt(raw_batch(hex("1200000002"
                                 "6b02"
                                 "760000"),
                             1),
                   "record length too long for fields");
    expect_corrupt(raw_batch(hex("03000000026b027600"), 1), "negative record length -2");
    expect_corrupt(raw_batch(hex("feffffff0f"
                                 "00000002"),
                             1),
                   "huge record length");
    expect_corrupt(raw_batch(hex("10000000"
                                 "03"
                                 "6b027600"),
                             1),
                   "key length -2");
    expect_corrupt(raw_batch(hex("10000000"
                                 "fe01"
                                 "6b0276"),
                             1),
                   "key length 127 past the record");
    expect_corrupt(raw_batch(hex("1000000002"
                                 "6b"
                                 "05"
                                 "7600"),
                             1),
                   "value length -3");
    expect_corrupt(raw_batch(hex("1000000002"
                                 "6b02"
                                 "76"
                                 "01"),
                             1),
                   "header count -1");
    expect_corrupt(raw_batch(hex("1000000002"
                                 "6b02"
                                 "76"
                                 "7e"),
                             1),
                   "header count 63");
    expect_corrupt(raw_batch(hex("0e000000026b0276"
                                 "02"
                                 "01"
                                 "01"),
                             1),
                   "null header key");
    expect_corrupt(raw_batch(hex("10"
                                 "00"
                                 "ffffffffffffffffffffff"),
                             1),
                   "varlong too long");
    expect_corrupt(raw_batch(hex("ffffffffff"), 1), "varint overflow");
    expect_corrupt(raw_batch(hex("ff"), 1), "varint cut off");
    expect_corrupt(raw_batch("", 1), "count with no bytes");
    expect_corrupt(raw_batch(hex("1000000002"
                                 "6b02"
                                 "7600"),
                             0x7fffffff),
                   "huge count");
    expect_corrupt(raw_batch(hex("1000000002"
                                 "6b02"
                                 "7600"),
                             -1),
                   "negative count");
    expect_corrupt(raw_batch("garbage", 1, 1), "gzip garbage");
    expect_corrupt(raw_batch("garbage", 1, 7), "codec 7");
    auto long_len = golden1;
    long_len[11] = 0x7f;  // batch_length past the end
    expect_corrupt(long_len, "batch length past the end");
    long_len[8] = '\x80';  // negative batch_length
    expect_corrupt(long_len, "negative batch length");
}

// Random damage anywhere in a batch (CRC fixed up so decoding proceeds) must end in a
// batch_error or valid records: never a crash, hang or other exception (run under ASan).
TEST(MalformedBatch, RandomDamageNeverCrashes) {
    std::mt19937 rng(11);
    auto recs = varied_records(30);
    for (auto c : all_codecs) {
        batch_builder_options o;
        o.codec = c;
        auto good = build_batch(o, recs);
        for (int i = 0; i < 400; ++i) {
            auto bad = good;
            for (int k = 0; k < 1 + i % 3; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
            if (i % 2) bad.resize(rng() % bad.size());
            try {
                if (i % 4 < 2 && bad.size() >= 61 &&
                    read_batch_header(bad).total_size() <= bad.size())
                    update_crc(bad);
                validate_produced_batch(bad);
                split_batches(bad, true);
                decode_records(bad, 1u << 20);
            } catch (const batch_error&) {
            }
        }
    }
}

// ---- error codes -------------------------------------------------------------------------

TEST(ErrorCode, NamesAndRetriable) {
    EXPECT_EQ(static_cast<int>(error_code::unknown_server_error), -1);
    EXPECT_EQ(static_cast<int>(error_code::invalid_record), 87);
    EXPECT_EQ(static_cast<int>(error_code::invalid_regular_expression), 128);
    EXPECT_EQ(error_name(error_code::none), "NONE");
    EXPECT_EQ(error_name(error_code::corrupt_message), "CORRUPT_MESSAGE");
    EXPECT_EQ(error_name(error_code::invalid_topic_exception), "INVALID_TOPIC_EXCEPTION");
    EXPECT_EQ(error_name(error_code::unsupported_for_message_format),
              "UNSUPPORTED_FOR_MESSAGE_FORMAT");
    EXPECT_EQ(error_name(static_cast<error_code>(129)), "UNKNOWN_ERROR_CODE");
    EXPECT_EQ(error_name(static_cast<error_code>(-2)), "UNKNOWN_ERROR_CODE");
    EXPECT_TRUE(is_retriable(error_code::corrupt_message));
    EXPECT_TRUE(is_retriable(error_code::not_leader_or_follower));
    EXPECT_TRUE(is_retriable(error_code::unknown_topic_id));
    EXPECT_FALSE(is_retriable(error_code::none));
    EXPECT_FALSE(is_retriable(error_code::invalid_record));
    EXPECT_FALSE(is_retriable(error_code::unknown_server_error));
    EXPECT_FALSE(is_retriable(static_cast<error_code>(500)));
}

}  // namespace
}  // namespace hako::protocol
