// Binary COPY encoder and the small decoders for binary results (pg_copy.h).
#include "storage/postgres/pg_copy.h"

#include <stdexcept>

namespace hako::storage::postgres {

namespace {

template <class T>
void put_be(std::string& out, T v) {
    auto u = static_cast<std::make_unsigned_t<T>>(v);
    for (int i = static_cast<int>(sizeof(T)) - 1; i >= 0; --i)
        out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(std::string_view s, std::size_t at) {
    if (at + 4 > s.size()) throw std::runtime_error("postgres: truncated binary array");
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    return v;
}

void json_string(std::string& out, std::string_view s) {
    static const char* hex = "0123456789abcdef";
    out.push_back('"');
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(c));
        } else if (c < 0x20) {
            out += "\\u00";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    out.push_back('"');
}

// jsonb holds UTF-8 text without NUL; anything else goes base64.
bool jsonb_text(std::string_view s) {
    return s.find('\0') == std::string_view::npos && valid_utf8(s);
}

}  // namespace

copy_encoder::copy_encoder() {
    buf_.append("PGCOPY\n\377\r\n\0", 11);
    put_be<std::int32_t>(buf_, 0);  // flags: no OIDs
    put_be<std::int32_t>(buf_, 0);  // header extension length
}

void copy_encoder::begin_row(std::int16_t fields) {
    put_be(buf_, fields);
    ++rows_;
}

void copy_encoder::add_null() { put_be<std::int32_t>(buf_, -1); }

void copy_encoder::add_i16(std::int16_t v) {
    put_be<std::int32_t>(buf_, 2);
    put_be(buf_, v);
}

void copy_encoder::add_i32(std::int32_t v) {
    put_be<std::int32_t>(buf_, 4);
    put_be(buf_, v);
}

void copy_encoder::add_i64(std::int64_t v) {
    put_be<std::int32_t>(buf_, 8);
    put_be(buf_, v);
}

void copy_encoder::add_bytes(std::string_view v) {
    put_be<std::int32_t>(buf_, static_cast<std::int32_t>(v.size()));
    buf_.append(v);
}

void copy_encoder::add_bytes(const std::optional<std::string>& v) {
    if (v)
        add_bytes(std::string_view(*v));
    else
        add_null();
}

void copy_encoder::add_jsonb(std::string_view json) {
    put_be<std::int32_t>(buf_, static_cast<std::int32_t>(json.size() + 1));
    buf_.push_back('\1');
    buf_.append(json);
}

std::string copy_encoder::finish() {
    put_be<std::int16_t>(buf_, -1);
    rows_ = 0;
    return std::exchange(buf_, std::string());
}

std::int64_t read_int(std::string_view f) {
    if (f.size() != 2 && f.size() != 4 && f.size() != 8)
        throw std::runtime_error("postgres: integer field of " + std::to_string(f.size()) + " bytes");
    std::uint64_t v = 0;
    for (unsigned char c : f) v = (v << 8) | c;
    if (f.size() == 2) return static_cast<std::int16_t>(v);
    if (f.size() == 4) return static_cast<std::int32_t>(v);
    return static_cast<std::int64_t>(v);
}

std::vector<std::optional<std::string>> read_array(std::string_view f) {
    std::vector<std::optional<std::string>> out;
    auto ndim = get_u32(f, 0);
    if (ndim == 0) return out;
    if (ndim != 1) throw std::runtime_error("postgres: expected a one-dimensional array");
    auto n = get_u32(f, 12);
    std::size_t at = 20;  // ndim, has-null flag, element oid, dimension, lower bound
    for (std::uint32_t i = 0; i < n; ++i) {
        auto len = static_cast<std::int32_t>(get_u32(f, at));
        at += 4;
        if (len < 0) {
            out.emplace_back();
            continue;
        }
        if (at + static_cast<std::size_t>(len) > f.size())
            throw std::runtime_error("postgres: truncated binary array");
        out.emplace_back(std::string(f.substr(at, static_cast<std::size_t>(len))));
        at += static_cast<std::size_t>(len);
    }
    return out;
}

std::string text_array_literal(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out.push_back(',');
        out.push_back('"');
        for (char c : items[i]) {
            if (c == '"' || c == '\\') out.push_back('\\');
            out.push_back(c);
        }
        out.push_back('"');
    }
    out.push_back('}');
    return out;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size()) return false;
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        // overlong forms, surrogates and values past U+10FFFF are not UTF-8
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += n + 1;
    }
    return true;
}

std::string headers_json(const std::vector<protocol::record_header>& headers) {
    if (headers.empty()) return {};
    std::string out = "[";
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const auto& h = headers[i];
        if (i) out.push_back(',');
        out.push_back('{');
        if (jsonb_text(h.key)) {
            out += "\"key\":";
            json_string(out, h.key);
        } else {
            out += "\"key_base64\":";
            json_string(out, base64_encode(h.key));
        }
        if (!h.value) {
            out += ",\"value\":null";
        } else if (jsonb_text(*h.value)) {
            out += ",\"value\":";
            json_string(out, *h.value);
        } else {
            out += ",\"value_base64\":";
            json_string(out, base64_encode(*h.value));
        }
        out.push_back('}');
    }
    out.push_back(']');
    return out;
}

}  // namespace hako::storage::postgres
