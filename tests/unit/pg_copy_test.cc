// The binary COPY encoder and the binary-result decoders of the postgres:// engine, byte
// for byte against the format in the PostgreSQL manual ("COPY ... Binary Format").
#include <gtest/gtest.h>

#include "storage/postgres/pg_copy.h"

namespace hako::storage::postgres {
namespace {

std::string header() {
    return std::string("PGCOPY\n\377\r\n\0", 11) + std::string(8, '\0');
}

TEST(PgCopy, EmptyStreamIsHeaderAndTrailer) {
    copy_encoder e;
    EXPECT_EQ(e.rows(), 0u);
    EXPECT_EQ(e.finish(), header() + "\xff\xff");
}

TEST(PgCopy, FieldsAreLengthPrefixedBigEndian) {
    copy_encoder e;
    e.begin_row(6);
    e.add_i16(-2);
    e.add_i32(0x01020304);
    e.add_i64(-1);
    e.add_bytes(std::string_view("ab"));
    e.add_null();
    e.add_jsonb("[]");
    EXPECT_EQ(e.rows(), 1u);
    std::string want = header();
    want += std::string("\0\x06", 2);                                 // field count
    want += std::string("\0\0\0\x02\xff\xfe", 6);                     // int16
    want += std::string("\0\0\0\x04\x01\x02\x03\x04", 8);             // int32
    want += std::string("\0\0\0\x08", 4) + std::string(8, '\xff');    // int64 -1
    want += std::string("\0\0\0\x02" "ab", 6);                        // bytea
    want += std::string("\xff\xff\xff\xff", 4);                       // NULL
    want += std::string("\0\0\0\x03\x01[]", 7);                       // jsonb v1
    want += "\xff\xff";
    EXPECT_EQ(e.finish(), want);
}

TEST(PgCopy, OptionalBytesAndBinaryContent) {
    copy_encoder e;
    e.begin_row(2);
    e.add_bytes(std::optional<std::string>());
    e.add_bytes(std::optional<std::string>(std::string("\0\xff", 2)));
    auto s = e.finish();
    EXPECT_EQ(s.substr(19), std::string("\0\x02\xff\xff\xff\xff\0\0\0\x02\0\xff\xff\xff", 14));
    EXPECT_EQ(e.rows(), 0u);  // finish() hands the stream over
}

TEST(PgCopy, ReadIntAllWidths) {
    EXPECT_EQ(read_int(std::string("\xff\xfe", 2)), -2);
    EXPECT_EQ(read_int(std::string("\0\0\x01\0", 4)), 256);
    EXPECT_EQ(read_int(std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8)), INT64_MAX);
    EXPECT_THROW(read_int("abc"), std::runtime_error);
}

TEST(PgCopy, ReadArrayWithNulls) {
    // ndim 1, has nulls, elem oid 17 (bytea), 3 elements from lower bound 1
    std::string a("\0\0\0\x01\0\0\0\x01\0\0\0\x11\0\0\0\x03\0\0\0\x01", 20);
    a += std::string("\0\0\0\x01x", 5) + std::string("\xff\xff\xff\xff", 4) +
         std::string("\0\0\0\0", 4);
    auto v = read_array(a);
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[0], std::optional<std::string>("x"));
    EXPECT_EQ(v[1], std::nullopt);
    EXPECT_EQ(v[2], std::optional<std::string>(""));
    EXPECT_TRUE(read_array(std::string("\0\0\0\0\0\0\0\0\0\0\0\x11", 12)).empty());
    EXPECT_THROW(read_array(a.substr(0, 22)), std::runtime_error);
}

TEST(PgCopy, TextArrayLiteralEscapes) {
    EXPECT_EQ(text_array_literal({}), "{}");
    EXPECT_EQ(text_array_literal({"a", "b\"c", "d\\e", ""}), R"({"a","b\"c","d\\e",""})");
}

TEST(PgCopy, Utf8AndBase64) {
    EXPECT_TRUE(valid_utf8("héllo €𝄞"));
    EXPECT_FALSE(valid_utf8("\xff"));
    EXPECT_FALSE(valid_utf8("\xc3"));          // truncated
    EXPECT_FALSE(valid_utf8("\xc0\xaf"));      // overlong
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));  // surrogate
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(PgCopy, HeadersAsJson) {
    EXPECT_EQ(headers_json({}), "");
    EXPECT_EQ(headers_json({{"k", std::string("v\"\n")}, {"n", std::nullopt}}),
              R"([{"key":"k","value":"v\"\u000a"},{"key":"n","value":null}])");
    // bytes jsonb cannot hold as text (invalid UTF-8, NUL) go base64
    EXPECT_EQ(headers_json({{"b", std::string("\0\xff", 2)}}),
              R"([{"key":"b","value_base64":"AP8="}])");
}

}  // namespace
}  // namespace hako::storage::postgres
