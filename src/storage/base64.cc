// base64.h: encode and decode.
#include "storage/base64.h"

#include <cstdint>
#include <stdexcept>

namespace hako::storage {

namespace {
const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string base64_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        auto v = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                 (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
        out += b64[v >> 18];
        out += b64[(v >> 12) & 63];
        out += b64[(v >> 6) & 63];
        out += b64[v & 63];
    }
    if (i < in.size()) {
        std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16;
        if (i + 1 < in.size()) v |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
        out += b64[v >> 18];
        out += b64[(v >> 12) & 63];
        out += i + 1 < in.size() ? b64[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string base64_decode(std::string_view in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    if (in.size() % 4) throw std::runtime_error("base64: length not a multiple of 4");
    std::string out;
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        int a = val(in[i]), b = val(in[i + 1]);
        int c = in[i + 2] == '=' ? 0 : val(in[i + 2]);
        int d = in[i + 3] == '=' ? 0 : val(in[i + 3]);
        if (a < 0 || b < 0 || c < 0 || d < 0) throw std::runtime_error("base64: bad character");
        auto v = (std::uint32_t(a) << 18) | (std::uint32_t(b) << 12) | (std::uint32_t(c) << 6) |
                 std::uint32_t(d);
        out += char(v >> 16);
        if (in[i + 2] != '=') out += char((v >> 8) & 255);
        if (in[i + 3] != '=') out += char(v & 255);
    }
    return out;
}

}  // namespace hako::storage
