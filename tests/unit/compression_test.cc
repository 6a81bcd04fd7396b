// Compression codecs: round trips, the framings other clients write, corrupt input, and
// the output limit (including decompression bombs).
#include "protocol/compression.h"

#include <gtest/gtest.h>
#include <lz4frame.h>

#include <random>
#include <string>
#include <vector>

namespace hako::protocol {
namespace {

constexpr compression all_codecs[] = {compression::none, compression::gzip, compression::snappy,
                                      compression::lz4, compression::zstd};
constexpr compression real_codecs[] = {compression::gzip, compression::snappy, compression::lz4,
                                       compression::zstd};
constexpr std::size_t unlimited = SIZE_MAX;

std::string random_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

std::string compressible(std::size_t n) {
    std::string s;
    for (int i = 0; s.size() < n; ++i)
        s += "record " + std::to_string(i % 97) + " of a very repetitive topic; ";
    s.resize(n);
    return s;
}

std::string hex(std::string_view h) {
    std::string out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}

class CodecTest : public ::testing::TestWithParam<compression> {};

TEST_P(CodecTest, RoundTrips) {
    auto c = GetParam();
    std::vector<std::string> inputs = {"", "x", "hello, kafka", random_bytes(1 << 20, 1),
                                       compressible(1 << 20)};
    for (const auto& in : inputs) {
        auto packed = compress(c, in);
        EXPECT_EQ(decompress(c, packed, unlimited), in)
            << compression_name(c) << " size " << in.size();
        EXPECT_EQ(decompress(c, packed, in.size()), in) << "an exact limit is allowed";
    }
    if (c != compression::none) {
        EXPECT_LT(compress(c, compressible(1 << 20)).size(), (1u << 20) / 4);
    }
}

TEST_P(CodecTest, OutputLimitEnforced) {
    auto c = GetParam();
    for (const auto& in : {compressible(100000), random_bytes(100000, 2)}) {
        auto packed = compress(c, in);
        EXPECT_THROW(decompress(c, packed, in.size() - 1), codec_error) << compression_name(c);
        EXPECT_THROW(decompress(c, packed, 0), codec_error);
    }
}

TEST(Compression, EveryTruncationThrows) {
    for (auto c : real_codecs) {
        auto packed = compress(c, compressible(20000));
        for (std::size_t n = 0; n < packed.size(); n += (n < 64 ? 1 : 7))
            EXPECT_THROW(decompress(c, std::string_view(packed).substr(0, n), unlimited),
                         codec_error)
                << compression_name(c) << " prefix " << n << " of " << packed.size();
    }
}

TEST(Compression, GarbageThrows) {
    for (auto c : real_codecs) {
        EXPECT_THROW(decompress(c, "this was never compressed", unlimited), codec_error);
        EXPECT_THROW(decompress(c, std::string(16, '\xff'), unlimited), codec_error)
            << compression_name(c);
    }
}

INSTANTIATE_TEST_SUITE_P(All, CodecTest, ::testing::ValuesIn(all_codecs), [](const auto& info) {
    return std::string(compression_name(info.param));
});

// Random damage must end in a codec_error or some output, never a crash (run under ASan).
TEST(Compression, RandomCorruptionNeverCrashes) {
    std::mt19937 rng(9);
    auto in = compressible(50000);
    for (auto c : real_codecs) {
        auto packed = compress(c, in);
        for (int i = 0; i < 300; ++i) {
            auto bad = packed;
            for (int k = 0; k < 1 + i % 4; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
            try {
                auto out = decompress(c, bad, 200000);
                EXPECT_LE(out.size(), 200000u);
            } catch (const codec_error&) {
            }
        }
    }
}

TEST(Compression, UnknownCodecThrows) {
    auto bad = static_cast<compression>(5);
    EXPECT_THROW(compress(bad, "x"), codec_error);
    EXPECT_THROW(decompress(bad, "x", unlimited), codec_error);
}

TEST(Compression, Names) {
    for (auto c : all_codecs) EXPECT_EQ(parse_compression(compression_name(c)), c);
    EXPECT_EQ(compression_name(compression::zstd), "zstd");
    EXPECT_EQ(parse_compression("producer"), std::nullopt);
    EXPECT_EQ(parse_compression("GZIP"), std::nullopt);
}

// ---- gzip ----

TEST(Gzip, ConcatenatedMembers) {
    auto packed = compress(compression::gzip, "first member, ") + compress(compression::gzip, "") +
                  compress(compression::gzip, "second member");
    EXPECT_EQ(decompress(compression::gzip, packed, unlimited), "first member, second member");
    EXPECT_THROW(decompress(compression::gzip, packed, 20), codec_error);
}

TEST(Gzip, BytesAfterLastMemberIgnoredLikeJava) {
    auto packed = compress(compression::gzip, "payload") + std::string(5, '\0');
    EXPECT_EQ(decompress(compression::gzip, packed, unlimited), "payload");
}

TEST(Gzip, CorruptSecondMemberThrows) {
    auto second = compress(compression::gzip, "second");
    second[second.size() - 6] ^= 0x55;  // CRC32 trailer of the member
    EXPECT_THROW(
        decompress(compression::gzip, compress(compression::gzip, "first") + second, unlimited),
        codec_error);
}

TEST(Gzip, BombStopsAtLimit) {
    auto bomb = compress(compression::gzip, std::string(32u << 20, '\0'));
    EXPECT_LT(bomb.size(), 64u << 10);
    EXPECT_THROW(decompress(compression::gzip, bomb, 1u << 20), codec_error);
}

// ---- snappy ----

// Hand-built xerial stream: header (magic, version 1, min version 1), then two blocks
// each holding a raw snappy block of "hello" (length 5, one literal tag (5-1)<<2).
TEST(Snappy, XerialHandBuilt) {
    auto stream =
        hex("82534e41505059000000000100000001"
            "00000007"
            "051068656c6c6f"
            "00000007"
            "051068656c6c6f");
    EXPECT_EQ(decompress(compression::snappy, stream, unlimited), "hellohello");
    EXPECT_THROW(decompress(compression::snappy, stream, 9), codec_error);
    EXPECT_EQ(decompress(compression::snappy, stream.substr(0, 16), unlimited), "");
    EXPECT_THROW(decompress(compression::snappy, stream.substr(0, 12), unlimited), codec_error);
    EXPECT_THROW(decompress(compression::snappy, stream.substr(0, 18), unlimited), codec_error);
    EXPECT_THROW(decompress(compression::snappy, stream.substr(0, 25), unlimited), codec_error);
}

TEST(Snappy, RawHandBuilt) {
    EXPECT_EQ(decompress(compression::snappy, hex("051068656c6c6f"), unlimited), "hello");
    // Literal "hello", then a copy with a 1-byte offset repeating it: tag bits 0-1 = 01,
    // bits 2-4 = length - 4 = 1, so tag 0x05, followed by offset 0x05.
    EXPECT_EQ(decompress(compression::snappy, hex("0a1068656c6c6f0505"), unlimited), "hellohello");
}

TEST(Snappy, XerialRoundTrip) {
    for (const auto& in :
         {std::string(), std::string("small"), compressible(1 << 20), random_bytes(100001, 3)}) {
        auto framed = compress_snappy_xerial(in);
        EXPECT_EQ(framed.substr(0, 8), std::string("\x82SNAPPY\0", 8));
        EXPECT_EQ(decompress(compression::snappy, framed, unlimited), in);
        if (!in.empty()) {
            EXPECT_THROW(decompress(compression::snappy, framed, in.size() - 1), codec_error);
        }
    }
}

TEST(Snappy, ClaimedLengthCheckedBeforeAllocating) {
    // Varint claims ~4 GiB of output from a few bytes.
    EXPECT_THROW(decompress(compression::snappy, hex("ffffffff0f00"), 1u << 20), codec_error);
    EXPECT_THROW(decompress(compression::snappy, hex("ffffffff0f00"), unlimited), codec_error);
    EXPECT_THROW(decompress(compression::snappy, hex("80808001") + "x", unlimited), codec_error);
}

// ---- lz4 ----

TEST(Lz4, WritesJavaStyleFrame) {
    auto packed = compress(compression::lz4, "abc");
    ASSERT_GE(packed.size(), 7u);
    EXPECT_EQ(packed.substr(0, 4), hex("04224d18"));  // magic 0x184D2204 little-endian
    auto flg = static_cast<unsigned char>(packed[4]);
    EXPECT_EQ(flg >> 6, 1);                                          // version 01
    EXPECT_TRUE(flg & 0x20);                                         // independent blocks
    EXPECT_EQ((static_cast<unsigned char>(packed[5]) >> 4) & 7, 4);  // BD: 64 KiB blocks
}

// Frames other writers produce: checksums, content size, linked and bigger blocks.
TEST(Lz4, DecodesFrameVariants) {
    auto in = compressible(300000) + random_bytes(70000, 4);
    for (int variant = 0; variant < 4; ++variant) {
        LZ4F_preferences_t p{};
        p.frameInfo.blockSizeID = variant % 2 ? LZ4F_max4MB : LZ4F_max64KB;
        p.frameInfo.blockMode = variant >= 2 ? LZ4F_blockLinked : LZ4F_blockIndependent;
        p.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
        p.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
        p.frameInfo.contentSize = variant == 1 ? in.size() : 0;
        std::string out(LZ4F_compressFrameBound(in.size(), &p), '\0');
        out.resize(LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &p));
        EXPECT_EQ(decompress(compression::lz4, out, unlimited), in) << variant;
        EXPECT_THROW(decompress(compression::lz4, out, in.size() - 1), codec_error);
        out[out.size() / 2] ^= 1;  // caught by the block checksum
        EXPECT_THROW(decompress(compression::lz4, out, unlimited), codec_error);
    }
}

TEST(Lz4, ConcatenatedFrames) {
    auto packed = compress(compression::lz4, "one ") + compress(compression::lz4, "two");
    EXPECT_EQ(decompress(compression::lz4, packed, unlimited), "one two");
}

TEST(Lz4, BombStopsAtLimit) {
    auto bomb = compress(compression::lz4, std::string(32u << 20, '\0'));
    EXPECT_THROW(decompress(compression::lz4, bomb, 1u << 20), codec_error);
}

// ---- zstd ----

TEST(Zstd, ConcatenatedFrames) {
    auto packed = compress(compression::zstd, "one ") + compress(compression::zstd, "two");
    EXPECT_EQ(decompress(compression::zstd, packed, unlimited), "one two");
}

TEST(Zstd, BombStopsAtLimit) {
    auto bomb = compress(compression::zstd, std::string(64u << 20, 'a'));
    EXPECT_LT(bomb.size(), 64u << 10);
    EXPECT_THROW(decompress(compression::zstd, bomb, 1u << 20), codec_error);
}

TEST(Compression, NoneRespectsLimit) {
    EXPECT_EQ(decompress(compression::none, "abc", 3), "abc");
    EXPECT_THROW(decompress(compression::none, "abc", 2), codec_error);
}

}  // namespace
}  // namespace hako::protocol
