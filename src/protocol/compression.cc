#include "protocol/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <memory>

namespace hako::protocol {

namespace {

constexpr std::string_view xerial_magic("\x82SNAPPY\0", 8);
constexpr std::size_t xerial_header_size = 16;
// snappy-java's default block size; kafka-python uses the same.
constexpr std::size_t xerial_block_size = 32 * 1024;
constexpr std::size_t min_growth = 64 * 1024;

[[noreturn]] void fail(std::string_view codec, std::string_view what) {
    throw codec_error(std::string(codec) + ": " + std::string(what));
}

// Output buffer for streaming decoders. It grows geometrically but never past
// max_output + 1: the one spare byte lets a decoder overshoot so "exactly max_output" and
// "more than max_output" can be told apart without a second probing call.
class bounded_output {
  public:
    bounded_output(std::string_view codec, std::size_t max_output, std::size_t input_size)
        : codec_(codec),
          max_(max_output),
          cap_(max_output == SIZE_MAX ? SIZE_MAX : max_output + 1) {
        // Compressed input hints at the output size; starting near it saves regrowth.
        auto hint = input_size > SIZE_MAX / 4 ? SIZE_MAX : input_size * 4;
        buf_.resize(std::min(cap_, std::max(min_growth, hint)));
    }

    // A writable region of at least one byte.
    std::pair<char*, std::size_t> window() {
        if (produced_ == buf_.size()) {
            if (buf_.size() >= cap_) fail(codec_, "output exceeds the size limit");
            auto grown = buf_.size() > cap_ / 2 ? cap_ : std::max(min_growth, buf_.size() * 2);
            buf_.resize(std::min(cap_, grown));
        }
        return {buf_.data() + produced_, buf_.size() - produced_};
    }

    void commit(std::size_t n) {
        produced_ += n;
        if (produced_ > max_) fail(codec_, "output exceeds the size limit");
    }

    std::string finish() {
        buf_.resize(produced_);
        // Do not hand callers a buffer mostly made of unused growth.
        if (buf_.capacity() > 2 * buf_.size() + min_growth) buf_.shrink_to_fit();
        return std::move(buf_);
    }

  private:
    std::string_view codec_;
    std::size_t max_;
    std::size_t cap_;
    std::size_t produced_ = 0;
    std::string buf_;
};

unsigned clamp_uint(std::size_t n) {
    return static_cast<unsigned>(std::min<std::size_t>(n, UINT_MAX));
}

// ---- gzip -----------------------------------------------------------------------------

std::string gzip_compress(std::string_view data) {
    z_stream zs{};
    // 16 + MAX_WBITS selects the gzip wrapper (RFC 1952), which is what Kafka expects.
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        fail("gzip", "deflateInit2 failed");
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
    std::string out(deflateBound(&zs, data.size()), '\0');
    auto* in = reinterpret_cast<const Bytef*>(data.data());
    std::size_t pos = 0;
    int rc;
    do {
        if (zs.total_out == out.size()) out.resize(out.size() * 2);
        zs.next_out = reinterpret_cast<Bytef*>(out.data()) + zs.total_out;
        zs.avail_out = clamp_uint(out.size() - zs.total_out);
        auto chunk = clamp_uint(data.size() - pos);
        zs.next_in = const_cast<Bytef*>(in + pos);
        zs.avail_in = chunk;
        rc = deflate(&zs, pos + chunk == data.size() ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_ERROR) fail("gzip", "deflate failed");
        pos += chunk - zs.avail_in;
    } while (rc != Z_STREAM_END);
    out.resize(zs.total_out);
    return out;
}

std::string gzip_decompress(std::string_view data, std::size_t max_output) {
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail("gzip", "inflateInit2 failed");
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
    bounded_output out("gzip", max_output, data.size());
    auto* in = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t pos = 0;
    for (;;) {
        auto [dst, room] = out.window();
        zs.next_in = const_cast<Bytef*>(in + pos);
        zs.avail_in = clamp_uint(data.size() - pos);
        zs.next_out = reinterpret_cast<Bytef*>(dst);
        zs.avail_out = clamp_uint(room);
        int rc = inflate(&zs, Z_NO_FLUSH);
        auto consumed = static_cast<std::size_t>(zs.next_in - (in + pos));
        auto produced = static_cast<std::size_t>(reinterpret_cast<char*>(zs.next_out) - dst);
        pos += consumed;
        out.commit(produced);
        if (rc == Z_STREAM_END) {
            // Several gzip members in a row are one valid stream (RFC 1952 §2.2). Like
            // Java's GZIPInputStream, bytes after the last member that do not start
            // another member are ignored.
            if (data.size() - pos >= 2 && in[pos] == 0x1f && in[pos + 1] == 0x8b) {
                inflateReset(&zs);
                continue;
            }
            break;
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR && consumed + produced > 0) continue;
        if (rc == Z_BUF_ERROR) fail("gzip", "truncated stream");
        fail("gzip", zs.msg ? zs.msg : "corrupt stream");
    }
    return out.finish();
}

// ---- snappy ---------------------------------------------------------------------------

void put_be32(std::string& out, std::uint32_t v) {
    char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                 static_cast<char>(v)};
    out.append(b, 4);
}

std::uint32_t get_be32(const char* p) {
    auto u = reinterpret_cast<const unsigned char*>(p);
    return static_cast<std::uint32_t>(u[0]) << 24 | static_cast<std::uint32_t>(u[1]) << 16 |
           static_cast<std::uint32_t>(u[2]) << 8 | u[3];
}

// Appends one raw snappy block's contents to `out`, keeping out.size() <= max_output.
void snappy_block(std::string_view block, std::size_t max_output, std::string& out) {
    std::size_t n = 0;
    if (!snappy::GetUncompressedLength(block.data(), block.size(), &n))
        fail("snappy", "corrupt block header");
    if (n > max_output - out.size()) fail("snappy", "output exceeds the size limit");
    // No snappy element expands more than 64/3 times (a 3-byte copy of 64 bytes), so a
    // block claiming more is corrupt; checking first avoids allocating for its claim.
    if (n / 22 > block.size()) fail("snappy", "block claims an impossible size");
    auto old = out.size();
    out.resize(old + n);
    if (!snappy::RawUncompress(block.data(), block.size(), out.data() + old))
        fail("snappy", "corrupt block");
}

std::string snappy_decompress(std::string_view data, std::size_t max_output) {
    std::string out;
    if (data.substr(0, xerial_magic.size()) != xerial_magic) {
        snappy_block(data, max_output, out);
        return out;
    }
    // xerial stream: magic, int32 version, int32 min compatible version, then blocks.
    // The versions are not checked: every writer in the wild uses 1/1 and the block
    // format is the same either way.
    if (data.size() < xerial_header_size) fail("snappy", "truncated xerial header");
    std::size_t pos = xerial_header_size;
    while (pos < data.size()) {
        if (data.size() - pos < 4) fail("snappy", "truncated xerial block length");
        auto len = get_be32(data.data() + pos);
        pos += 4;
        if (len > data.size() - pos) fail("snappy", "truncated xerial block");
        snappy_block(data.substr(pos, len), max_output, out);
        pos += len;
    }
    return out;
}

// ---- lz4 ------------------------------------------------------------------------------

std::string lz4_compress(std::string_view data) {
    LZ4F_preferences_t prefs{};
    // The Java client writes 64 KiB independent blocks; matching it keeps any reader's
    // memory needs at their smallest.
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    std::string out(LZ4F_compressFrameBound(data.size(), &prefs), '\0');
    auto n = LZ4F_compressFrame(out.data(), out.size(), data.data(), data.size(), &prefs);
    if (LZ4F_isError(n)) fail("lz4", LZ4F_getErrorName(n));
    out.resize(n);
    return out;
}

std::string lz4_decompress(std::string_view data, std::size_t max_output) {
    LZ4F_dctx* raw = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION)))
        fail("lz4", "no context");
    std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> dctx(
        raw, LZ4F_freeDecompressionContext);
    bounded_output out("lz4", max_output, data.size());
    std::size_t pos = 0;
    for (;;) {
        auto [dst, room] = out.window();
        std::size_t src_n = data.size() - pos;
        std::size_t dst_n = room;
        auto hint = LZ4F_decompress(dctx.get(), dst, &dst_n, data.data() + pos, &src_n, nullptr);
        if (LZ4F_isError(hint)) fail("lz4", LZ4F_getErrorName(hint));
        pos += src_n;
        out.commit(dst_n);
        if (hint == 0) {
            if (pos == data.size()) break;
            continue;  // another frame follows; the context starts it on its own
        }
        // No progress with room to write means the input ended inside a frame.
        if (src_n == 0 && dst_n == 0) fail("lz4", "truncated frame");
    }
    return out.finish();
}

// ---- zstd -----------------------------------------------------------------------------

std::string zstd_compress(std::string_view data) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    auto n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(n)) fail("zstd", ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

std::string zstd_decompress(std::string_view data, std::size_t max_output) {
    // Streaming, because Java's ZstdOutputStream omits the content size. The decoder's
    // window is capped by zstd's default windowLogMax (128 MiB); that is the only
    // allocation not bounded by max_output.
    std::unique_ptr<ZSTD_DCtx, std::size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    if (!dctx) fail("zstd", "no context");
    bounded_output out("zstd", max_output, data.size());
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
        auto [dst, room] = out.window();
        ZSTD_outBuffer ob{dst, room, 0};
        auto before = in.pos;
        auto rc = ZSTD_decompressStream(dctx.get(), &ob, &in);
        if (ZSTD_isError(rc)) fail("zstd", ZSTD_getErrorName(rc));
        out.commit(ob.pos);
        if (rc == 0) {
            if (in.pos == in.size) break;
            continue;  // concatenated frames are one valid stream
        }
        // No progress with room to write means the input ended inside a frame.
        if (in.pos == before && ob.pos == 0) fail("zstd", "truncated frame");
    }
    return out.finish();
}

}  // namespace

std::string_view compression_name(compression c) {
    switch (c) {
        case compression::none:
            return "none";
        case compression::gzip:
            return "gzip";
        case compression::snappy:
            return "snappy";
        case compression::lz4:
            return "lz4";
        case compression::zstd:
            return "zstd";
    }
    return "unknown";
}

std::optional<compression> parse_compression(std::string_view name) {
    for (auto c : {compression::none, compression::gzip, compression::snappy, compression::lz4,
                   compression::zstd})
        if (compression_name(c) == name) return c;
    return std::nullopt;
}

std::string compress(compression c, std::string_view data) {
    switch (c) {
        case compression::none:
            return std::string(data);
        case compression::gzip:
            return gzip_compress(data);
        case compression::snappy: {
            std::string out;
            snappy::Compress(data.data(), data.size(), &out);
            return out;
        }
        case compression::lz4:
            return lz4_compress(data);
        case compression::zstd:
            return zstd_compress(data);
    }
    fail("compress", "unknown codec " + std::to_string(static_cast<int>(c)));
}

std::string compress_snappy_xerial(std::string_view data) {
    std::string out(xerial_magic);
    put_be32(out, 1);  // version
    put_be32(out, 1);  // minimum compatible version
    std::string block;
    for (std::size_t pos = 0; pos < data.size(); pos += xerial_block_size) {
        auto chunk = data.substr(pos, xerial_block_size);
        block.clear();
        snappy::Compress(chunk.data(), chunk.size(), &block);
        put_be32(out, static_cast<std::uint32_t>(block.size()));
        out += block;
    }
    return out;
}

std::string decompress(compression c, std::string_view data, std::size_t max_output) {
    switch (c) {
        case compression::none:
            if (data.size() > max_output) fail("none", "output exceeds the size limit");
            return std::string(data);
        case compression::gzip:
            return gzip_decompress(data, max_output);
        case compression::snappy:
            return snappy_decompress(data, max_output);
        case compression::lz4:
            return lz4_decompress(data, max_output);
        case compression::zstd:
            return zstd_decompress(data, max_output);
    }
    fail("decompress", "unknown codec " + std::to_string(static_cast<int>(c)));
}

}  // namespace hako::protocol
