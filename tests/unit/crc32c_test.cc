// CRC-32C: known vectors, chaining, and the SSE4.2 path against the portable one.
#include "protocol/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace hako::protocol {
namespace {

// Bit-at-a-time definition, independent of both implementations under test.
std::uint32_t reference_crc(std::string_view s) {
    std::uint32_t c = 0xffffffffu;
    for (unsigned char b : s) {
        c ^= b;
        for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
    }
    return ~c;
}

std::string random_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

TEST(Crc32c, CheckValue) {
    EXPECT_EQ(crc32c(std::string_view("123456789")), 0xE3069283u);
    EXPECT_EQ(detail::crc32c_portable("123456789", 9, 0), 0xE3069283u);
}

TEST(Crc32c, EmptyIsZeroAndKeepsChainValue) {
    EXPECT_EQ(crc32c(nullptr, 0), 0u);
    EXPECT_EQ(crc32c(nullptr, 0, 0x12345678u), 0x12345678u);
}

// RFC 3720 (iSCSI) appendix B.4 vectors.
TEST(Crc32c, Rfc3720Vectors) {
    std::string zeros(32, '\0'), ones(32, '\xff'), inc(32, '\0'), dec(32, '\0');
    for (int i = 0; i < 32; ++i) {
        inc[i] = static_cast<char>(i);
        dec[i] = static_cast<char>(31 - i);
    }
    EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
    EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
    EXPECT_EQ(crc32c(inc), 0x46DD794Eu);
    EXPECT_EQ(crc32c(dec), 0x113FDB5Cu);
}

TEST(Crc32c, MatchesBitwiseReference) {
    for (std::size_t n :
         {1u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 63u, 64u, 65u, 1000u, 4096u, 100003u}) {
        auto s = random_bytes(n, static_cast<std::uint32_t>(n));
        EXPECT_EQ(crc32c(s), reference_crc(s)) << n;
        EXPECT_EQ(detail::crc32c_portable(s.data(), s.size(), 0), reference_crc(s)) << n;
    }
}

TEST(Crc32c, ChainingEqualsOneShot) {
    auto s = random_bytes(300, 7);
    auto whole = crc32c(s);
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
        std::string_view v(s);
        EXPECT_EQ(crc32c(v.substr(cut), crc32c(v.substr(0, cut))), whole) << cut;
        EXPECT_EQ(detail::crc32c_portable(s.data() + cut, s.size() - cut,
                                          detail::crc32c_portable(s.data(), cut, 0)),
                  whole)
            << cut;
    }
}

TEST(Crc32c, HardwareMatchesPortable) {
    if (!detail::crc32c_hardware_available()) GTEST_SKIP() << "CPU has no SSE4.2";
    auto s = random_bytes(1 << 16, 42);
    std::mt19937 rng(1);
    // Every alignment and many lengths, chained from arbitrary start values.
    for (int i = 0; i < 2000; ++i) {
        std::size_t off = rng() % 64;
        std::size_t len = (i < 200) ? static_cast<std::size_t>(i) : rng() % (s.size() - off);
        std::uint32_t seed = (i % 3 == 0) ? 0 : rng();
        ASSERT_EQ(detail::crc32c_hardware(s.data() + off, len, seed),
                  detail::crc32c_portable(s.data() + off, len, seed))
            << "off=" << off << " len=" << len;
    }
    EXPECT_EQ(detail::crc32c_hardware("123456789", 9, 0), 0xE3069283u);
    // Long inputs run as interleaved lanes (8 KiB and 256 B): around every lane boundary.
    auto big = random_bytes(3 << 20, 7);
    for (std::size_t len : {767u, 768u, 769u, 24575u, 24576u, 24577u, 24576u + 768u + 5u,
                            1000000u, 3u << 20})
        for (std::size_t off : {0u, 3u}) {
            if (off + len > big.size()) continue;
            ASSERT_EQ(detail::crc32c_hardware(big.data() + off, len, 0x1234u),
                      detail::crc32c_portable(big.data() + off, len, 0x1234u))
                << "off=" << off << " len=" << len;
        }
}

// Combining two checksums equals checksumming the concatenation, for lengths around the
// bit boundaries of the length (the combine walks its bits) and a multi-megabyte one.
TEST(Crc32c, CombineEqualsTheChecksumOfTheConcatenation) {
    for (std::size_t la : {0u, 1u, 21u, 1000u})
        for (std::size_t lb : {0u, 1u, 2u, 3u, 7u, 8u, 9u, 63u, 64u, 65u, 1023u, 1024u, 4097u,
                               (1u << 20) + 3u, 5u << 20}) {
            auto a = random_bytes(la, static_cast<std::uint32_t>(la * 31 + lb));
            auto b = random_bytes(lb, static_cast<std::uint32_t>(lb * 17 + la));
            EXPECT_EQ(crc32c_combine(crc32c(a), crc32c(b), b.size()), reference_crc(a + b))
                << la << " + " << lb;
        }
}

// A record-batch-shaped body: each part's checksum built from its 21-byte header and the
// CRC of the rest, then the parts combined in order.
TEST(Crc32c, CombineChainsOverManyParts) {
    std::string all;
    std::uint32_t combined = 0;
    for (std::uint32_t i = 0; i < 40; ++i) {
        auto part = random_bytes(21 + (i * 7919) % 5000, i);
        auto head = std::string_view(part).substr(0, 21);
        auto rest = std::string_view(part).substr(21);
        auto part_crc = crc32c_combine(crc32c(head), crc32c(rest), rest.size());
        combined = crc32c_combine(combined, part_crc, part.size());
        all += part;
    }
    EXPECT_EQ(combined, crc32c(all));
}

}  // namespace
}  // namespace hako::protocol
