// Every generated message, every version: randomize -> encode -> decode -> encode gives
// the same bytes and consumes the whole buffer. Then truncations of a valid encoding must
// fail cleanly (decode_error), never crash or over-allocate.
#include <gtest/gtest.h>

#include "hako/protocol/messages/all.h"

namespace p = hako::protocol;

namespace {

template <class M>
void roundtrip(std::int16_t min_v, std::int16_t max_v) {
    for (std::int16_t v = min_v; v <= max_v; ++v) {
        for (std::uint64_t seed = 0; seed < 40; ++seed) {
            p::sample_source s(seed * 131 + static_cast<std::uint64_t>(v));
            M m;
            m.randomize(s, v);
            p::writer w;
            m.encode(w, v);
            p::reader r(w.buffer());
            M back;
            back.decode(r, v);
            EXPECT_TRUE(r.empty()) << "trailing bytes at v" << v << " seed " << seed;
            p::writer w2;
            back.encode(w2, v);
            ASSERT_EQ(w.buffer(), w2.buffer()) << "v" << v << " seed " << seed;
            // every strict prefix must be rejected (or decode to something shorter)
            if (seed < 3) {
                for (std::size_t cut = 0; cut < w.size(); ++cut) {
                    p::reader tr(w.buffer().data(), cut);
                    M t;
                    try {
                        t.decode(tr, v);
                    } catch (const p::decode_error&) {
                    }
                }
            }
        }
    }
}

}  // namespace

#define HAKO_ROUNDTRIP_TEST(api)                                                        \
    TEST(message_roundtrip, api) {                                                      \
        roundtrip<p::api::request>(p::api::min_version, p::api::max_version);           \
        roundtrip<p::api::response>(p::api::min_version, p::api::max_version);          \
    }
HAKO_FOR_EACH_API(HAKO_ROUNDTRIP_TEST)

TEST(message_decode, hostile_lengths) {
    // Metadata v1 request claiming 2^31-1 topics in a 6-byte body.
    std::string body = std::string("\x7f\xff\xff\xff", 4);
    p::reader r(body);
    p::metadata::request m;
    EXPECT_THROW(m.decode(r, 1), p::decode_error);
    // flexible: compact array length as a 5-byte varint beyond 32 bits
    std::string bad_varint = std::string("\xff\xff\xff\xff\x7f", 5);
    p::reader r2(bad_varint);
    EXPECT_THROW(m.decode(r2, 9), p::decode_error);
    // negative string length other than -1
    std::string neg = std::string("\x00\x00\x00\x01\xff\xfe", 6);
    p::reader r3(neg);
    EXPECT_THROW(m.decode(r3, 1), p::decode_error);
}
