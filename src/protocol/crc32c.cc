#include "protocol/crc32c.h"

#include <array>
#include <cstring>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define HAKO_CRC32C_X86 1
#endif

namespace hako::protocol {

namespace {

constexpr std::uint32_t poly = 0x82F63B78u;  // Castagnoli, bit-reflected

// table[k][b] is the CRC contribution of byte b followed by k zero bytes; eight tables let
// the portable path fold eight input bytes per step instead of one.
using slice_tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr slice_tables make_tables() {
    slice_tables t{};
    for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t c = b;
        for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1) ? poly : 0);
        t[0][b] = c;
    }
    for (std::size_t k = 1; k < 8; ++k)
        for (std::size_t b = 0; b < 256; ++b)
            t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
    return t;
}

constexpr slice_tables tables = make_tables();

std::uint32_t load_le32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

// Works on the inverted register so callers can chain plain CRC values.
std::uint32_t portable_raw(const unsigned char* p, std::size_t n, std::uint32_t c) {
    while (n >= 8) {
        std::uint32_t lo = load_le32(p) ^ c;
        std::uint32_t hi = load_le32(p + 4);
        c = tables[7][lo & 0xff] ^ tables[6][(lo >> 8) & 0xff] ^ tables[5][(lo >> 16) & 0xff] ^
            tables[4][lo >> 24] ^ tables[3][hi & 0xff] ^ tables[2][(hi >> 8) & 0xff] ^
            tables[1][(hi >> 16) & 0xff] ^ tables[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) c = (c >> 8) ^ tables[0][(c ^ *p++) & 0xff];
    return c;
}

#ifdef HAKO_CRC32C_X86
// The target attribute lets these functions use SSE4.2 while the rest of the binary
// stays baseline x86-64, so it still runs on CPUs without the instruction.
__attribute__((target("sse4.2"))) std::uint32_t hardware_serial(const unsigned char* p,
                                                                std::size_t n, std::uint32_t c) {
#if defined(__x86_64__)
    std::uint64_t c64 = c;
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);  // unaligned-safe; the instruction takes little-endian input
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        n -= 8;
    }
    c = static_cast<std::uint32_t>(c64);
#endif
    while (n >= 4) {
        std::uint32_t v;
        std::memcpy(&v, p, 4);
        c = _mm_crc32_u32(c, v);
        p += 4;
        n -= 4;
    }
    while (n--) c = _mm_crc32_u8(c, *p++);
    return c;
}

#if defined(__x86_64__)
// One crc32 instruction waits for the previous one (3 cycles) but the CPU can start one
// per cycle, so long inputs run as three independent lanes of `lane` bytes each, joined
// by the linear "append `lane` zero bytes" operator: crc(A B) = shift(crc(A)) ^ crc0(B).
// shift_table[k][b] is that operator applied to byte b at byte position k of the register.
struct lane_shift {
    std::size_t lane;
    std::array<std::array<std::uint32_t, 256>, 4> table;
    explicit lane_shift(std::size_t len) : lane(len) {
        // The operator's columns: where each single register bit goes after len zero bytes.
        std::array<std::uint32_t, 32> col{};
        std::string zeros(len, '\0');
        for (int i = 0; i < 32; ++i)
            col[i] = hardware_serial(reinterpret_cast<const unsigned char*>(zeros.data()), len,
                                     1u << i);
        for (int k = 0; k < 4; ++k)
            for (std::uint32_t b = 0; b < 256; ++b) {
                std::uint32_t v = 0;
                for (int i = 0; i < 8; ++i)
                    if (b & (1u << i)) v ^= col[8 * k + i];
                table[k][b] = v;
            }
    }
    std::uint32_t shift(std::uint32_t c) const {
        return table[0][c & 0xff] ^ table[1][(c >> 8) & 0xff] ^ table[2][(c >> 16) & 0xff] ^
               table[3][c >> 24];
    }
};

__attribute__((target("sse4.2"))) std::uint32_t three_lanes(const unsigned char*& p,
                                                            std::size_t& n, std::uint32_t c,
                                                            const lane_shift& s) {
    const std::size_t lane = s.lane;
    while (n >= 3 * lane) {
        std::uint64_t a = c, b = 0, d = 0;
        for (std::size_t i = 0; i < lane; i += 8) {
            std::uint64_t va, vb, vd;
            std::memcpy(&va, p + i, 8);
            std::memcpy(&vb, p + lane + i, 8);
            std::memcpy(&vd, p + 2 * lane + i, 8);
            a = _mm_crc32_u64(a, va);
            b = _mm_crc32_u64(b, vb);
            d = _mm_crc32_u64(d, vd);
        }
        c = s.shift(s.shift(static_cast<std::uint32_t>(a)) ^ static_cast<std::uint32_t>(b)) ^
            static_cast<std::uint32_t>(d);
        p += 3 * lane;
        n -= 3 * lane;
    }
    return c;
}
#endif

std::uint32_t hardware_raw(const unsigned char* p, std::size_t n, std::uint32_t c) {
#if defined(__x86_64__)
    static const lane_shift long_lanes(8192), short_lanes(256);  // lanes: multiples of 8
    c = three_lanes(p, n, c, long_lanes);
    c = three_lanes(p, n, c, short_lanes);
#endif
    return hardware_serial(p, n, c);
}
#endif

bool detect_hardware() {
#ifdef HAKO_CRC32C_X86
    return __builtin_cpu_supports("sse4.2");
#else
    return false;
#endif
}

}  // namespace

namespace detail {

std::uint32_t crc32c_portable(const void* data, std::size_t n, std::uint32_t crc) {
    return ~portable_raw(static_cast<const unsigned char*>(data), n, ~crc);
}

bool crc32c_hardware_available() {
    static const bool available = detect_hardware();
    return available;
}

std::uint32_t crc32c_hardware(const void* data, std::size_t n, std::uint32_t crc) {
#ifdef HAKO_CRC32C_X86
    return ~hardware_raw(static_cast<const unsigned char*>(data), n, ~crc);
#else
    return crc32c_portable(data, n, crc);
#endif
}

}  // namespace detail

namespace {

// Polynomials over GF(2) modulo the CRC polynomial, in the CRC's reflected bit order (the
// top bit is x^0). The CRC register after feeding n zero bytes is the register times
// x^(8n), which is what combining needs: crc(a + b) = crc(a) * x^(8 len(b)) + crc(b)
// (the pre- and post-inversions cancel between the two terms).
std::uint32_t multiply_mod(std::uint32_t a, std::uint32_t b) {
    std::uint32_t product = 0;
    for (std::uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
        if (a & bit) product ^= b;
        b = (b & 1) ? (b >> 1) ^ poly : b >> 1;  // b * x
    }
    return product;
}

// powers[k] = x^(2^k) mod P, k = 0..63.
std::array<std::uint32_t, 64> make_powers() {
    std::array<std::uint32_t, 64> p{};
    p[0] = 1u << 30;  // x^1
    for (std::size_t k = 1; k < p.size(); ++k) p[k] = multiply_mod(p[k - 1], p[k - 1]);
    return p;
}

// x^(8n) mod P.
std::uint32_t x_to_8n(std::uint64_t n) {
    static const auto powers = make_powers();
    std::uint32_t r = 1u << 31;  // x^0
    for (std::size_t k = 3; n != 0 && k < powers.size(); ++k, n >>= 1)
        if (n & 1) r = multiply_mod(r, powers[k]);
    return r;
}

}  // namespace

std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t len_b) {
    if (len_b == 0) return crc_a;
    return multiply_mod(crc_a, x_to_8n(len_b)) ^ crc_b;
}

std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc) {
    if (detail::crc32c_hardware_available()) return detail::crc32c_hardware(data, n, crc);
    return detail::crc32c_portable(data, n, crc);
}

}  // namespace hako::protocol
