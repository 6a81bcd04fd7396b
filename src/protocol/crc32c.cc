#include "protocol/crc32c.h"

#include <array>
#include <cstring>

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
// The target attribute lets this one function use SSE4.2 while the rest of the binary
// stays baseline x86-64, so it still runs on CPUs without the instruction.
__attribute__((target("sse4.2"))) std::uint32_t hardware_raw(const unsigned char* p, std::size_t n,
                                                             std::uint32_t c) {
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

std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc) {
    if (detail::crc32c_hardware_available()) return detail::crc32c_hardware(data, n, crc);
    return detail::crc32c_portable(data, n, crc);
}

}  // namespace hako::protocol
