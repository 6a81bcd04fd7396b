#pragma once
// CRC-32C (Castagnoli): the checksum of a v2 record batch (wire notes §6), also used by
// nothing else in Kafka. Reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF,
// so crc32c("123456789") == 0xE3069283. Pure functions: any thread may call them.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hako::protocol {

// `crc` is the result of a previous call, so a checksum can be built piece by piece:
// crc32c(b, nb, crc32c(a, na)) == crc32c(a + b). Uses the SSE4.2 crc32 instruction when
// the CPU has it (detected once at run time) and a slicing-by-8 table otherwise.
std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc = 0);

inline std::uint32_t crc32c(std::string_view s, std::uint32_t crc = 0) {
    return crc32c(s.data(), s.size(), crc);
}

// The checksum of a + b from crc32c(a), crc32c(b) and b's length, without reading either:
// lets a body made of record batches be checksummed from the batches' own CRCs.
// O(log len_b): a few hundred operations whatever the length.
std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t len_b);

// The two implementations behind crc32c(), exposed so tests can check them against each
// other. crc32c_hardware() may only be called when crc32c_hardware_available().
namespace detail {
std::uint32_t crc32c_portable(const void* data, std::size_t n, std::uint32_t crc);
bool crc32c_hardware_available();
std::uint32_t crc32c_hardware(const void* data, std::size_t n, std::uint32_t crc);
}  // namespace detail

}  // namespace hako::protocol
