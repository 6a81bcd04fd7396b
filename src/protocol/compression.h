#pragma once
// The four batch compression codecs (wire notes §10). A compressed v2 batch carries its
// records as one blob after the 61-byte header; these functions turn that blob into the
// concatenated records and back. The broker stores batches as received and decompresses
// only to validate or when something needs the records. Pure functions: any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hako::protocol {

// Values are the attribute bits 0-2 of a v2 batch.
enum class compression : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// Corrupt or truncated input, an unknown codec, or output over the caller's limit.
struct codec_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "none", "gzip", "snappy", "lz4", "zstd" (Kafka's compression.type spelling); values
// outside the enum give "unknown".
std::string_view compression_name(compression c);
// The inverse of compression_name(); nullopt for anything else (including "producer",
// which is a topic setting, not a codec).
std::optional<compression> parse_compression(std::string_view name);

// Compresses `data` in the form the librdkafka producer writes: gzip stream, raw snappy
// block, LZ4 frame with 64 KiB independent blocks (as the Java client), zstd frame.
std::string compress(compression c, std::string_view data);

// Snappy in the xerial/snappy-java stream framing written by the Java client and
// kafka-python: 16-byte header, then (int32 BE length, raw block) per 32 KiB of input.
std::string compress_snappy_xerial(std::string_view data);

// Decompresses a blob written by any Kafka client. Output larger than `max_output` is an
// error, and memory use is bounded by max_output rather than by any size the input claims,
// so a small hostile blob cannot make us allocate a lot. Accepts concatenated gzip members,
// both snappy framings, LZ4 frames with or without checksums and content size, and zstd
// frames with or without content size.
std::string decompress(compression c, std::string_view data, std::size_t max_output);

}  // namespace hako::protocol
