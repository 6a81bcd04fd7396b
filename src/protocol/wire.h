#pragma once
// Wire primitives: a bounds-checked reader over borrowed bytes and an appending writer.
// Every read checks the bytes left; counts and lengths are validated before any
// allocation so a hostile frame can never make us allocate more than it carries.
// Both types are single-owner values: use one per coroutine, never share across threads.

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/shared_bytes.h"

namespace hako::protocol {

using uuid = std::array<std::uint8_t, 16>;

// Thrown by the reader on malformed input. It ends the connection that sent the frame,
// nothing else.
struct decode_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class reader {
public:
    reader() = default;
    reader(const char* data, std::size_t size) : start_(data), p_(data), end_(data + size) {}
    explicit reader(std::string_view s) : reader(s.data(), s.size()) {}
    // Records fields (produced batches) become slices of `owner` instead of copies;
    // `owner` holds the very bytes this reader reads, writable.
    reader(std::shared_ptr<char[]> owner, std::size_t size)
        : reader(owner.get(), size) {
        owner_ = std::move(owner);
    }

    std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
    bool empty() const { return p_ == end_; }
    const char* position() const { return p_; }

    std::string_view take(std::size_t n) {
        need(n);
        std::string_view v(p_, n);
        p_ += n;
        return v;
    }
    void skip(std::size_t n) { need(n), p_ += n; }

    bool read_bool() { return read_u8() != 0; }
    std::int8_t read_i8() { return static_cast<std::int8_t>(read_u8()); }
    std::uint8_t read_u8() {
        need(1);
        return static_cast<std::uint8_t>(*p_++);
    }
    std::int16_t read_i16() { return static_cast<std::int16_t>(read_be<std::uint16_t>()); }
    std::uint16_t read_u16() { return read_be<std::uint16_t>(); }
    std::int32_t read_i32() { return static_cast<std::int32_t>(read_be<std::uint32_t>()); }
    std::uint32_t read_u32() { return read_be<std::uint32_t>(); }
    std::int64_t read_i64() { return static_cast<std::int64_t>(read_be<std::uint64_t>()); }
    double read_f64() {
        auto bits = read_be<std::uint64_t>();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return d;
    }
    uuid read_uuid() {
        uuid u;
        auto s = take(16);
        std::memcpy(u.data(), s.data(), 16);
        return u;
    }

    std::uint32_t read_uvarint() {
        std::uint32_t v = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            auto b = read_u8();
            if (shift == 28 && (b & 0xf0)) throw decode_error("uvarint overflows 32 bits");
            v |= static_cast<std::uint32_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        throw decode_error("uvarint too long");
    }
    std::uint64_t read_uvarlong() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            auto b = read_u8();
            if (shift == 63 && (b & 0xfe)) throw decode_error("uvarlong overflows 64 bits");
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return v;
        }
        throw decode_error("uvarlong too long");
    }
    // zig-zag signed varints, used inside records
    std::int32_t read_varint() {
        auto u = read_uvarint();
        return static_cast<std::int32_t>((u >> 1) ^ (~(u & 1) + 1));
    }
    std::int64_t read_varlong() {
        auto u = read_uvarlong();
        return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
    }

    // Strings and bytes. `compact` selects the flexible (uvarint length + 1) form.
    std::optional<std::string> read_nullable_string(bool compact) {
        std::int64_t n = compact ? static_cast<std::int64_t>(read_uvarint()) - 1 : read_i16();
        if (n < 0) {
            if (n != -1) throw decode_error("negative string length");
            return std::nullopt;
        }
        return std::string(take(static_cast<std::size_t>(n)));
    }
    std::string read_string(bool compact) {
        auto s = read_nullable_string(compact);
        if (!s) throw decode_error("null in a non-nullable string");
        return std::move(*s);
    }
    std::optional<std::string> read_nullable_bytes(bool compact) {
        auto v = read_nullable_bytes_view(compact);
        if (!v) return std::nullopt;
        return std::string(*v);
    }
    std::string read_bytes(bool compact) {
        auto s = read_nullable_bytes(compact);
        if (!s) throw decode_error("null in non-nullable bytes");
        return std::move(*s);
    }
    // A records field: a slice of the shared frame when there is one, else a copy.
    std::optional<shared_bytes> read_nullable_records(bool compact) {
        auto v = read_nullable_bytes_view(compact);
        if (!v) return std::nullopt;
        if (!owner_) return shared_bytes(std::string(*v));
        return shared_bytes(std::shared_ptr<char>(owner_, owner_.get() + (v->data() - start_)), v->size());
    }
    shared_bytes read_records(bool compact) {
        auto s = read_nullable_records(compact);
        if (!s) throw decode_error("null in non-nullable records");
        return std::move(*s);
    }
    // Array element count; -1 means null. Capped by the bytes left (every element takes at
    // least one byte) so a huge count cannot trigger a huge reservation.
    std::int32_t read_array_count(bool compact) {
        std::int64_t n = compact ? static_cast<std::int64_t>(read_uvarint()) - 1 : read_i32();
        if (n < -1) throw decode_error("negative array length");
        if (n > static_cast<std::int64_t>(remaining()))
            throw decode_error("array length exceeds frame");
        return static_cast<std::int32_t>(n);
    }

private:
    void need(std::size_t n) const {
        if (n > remaining()) throw decode_error("truncated frame");
    }
    template <class T>
    T read_be() {
        need(sizeof(T));
        T v = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i)
            v = static_cast<T>((v << 8) | static_cast<std::uint8_t>(p_[i]));
        p_ += sizeof(T);
        return v;
    }

    std::optional<std::string_view> read_nullable_bytes_view(bool compact) {
        std::int64_t n = compact ? static_cast<std::int64_t>(read_uvarint()) - 1 : read_i32();
        if (n < 0) {
            if (n != -1) throw decode_error("negative bytes length");
            return std::nullopt;
        }
        return take(static_cast<std::size_t>(n));
    }

    const char* start_ = nullptr;  // where the bytes begin (a slice's offset in owner_)
    const char* p_ = nullptr;
    const char* end_ = nullptr;
    std::shared_ptr<char[]> owner_;  // set: records fields are slices of it
};

class writer {
public:
    std::string& buffer() { return buf_; }
    const std::string& buffer() const { return buf_; }
    std::string take() { return std::move(buf_); }
    std::size_t size() const { return buf_.size(); }

    void write_raw(std::string_view s) { buf_.append(s); }
    void write_bool(bool v) { write_u8(v ? 1 : 0); }
    void write_i8(std::int8_t v) { write_u8(static_cast<std::uint8_t>(v)); }
    void write_u8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); }
    void write_i16(std::int16_t v) { write_be(static_cast<std::uint16_t>(v)); }
    void write_u16(std::uint16_t v) { write_be(v); }
    void write_i32(std::int32_t v) { write_be(static_cast<std::uint32_t>(v)); }
    void write_u32(std::uint32_t v) { write_be(v); }
    void write_i64(std::int64_t v) { write_be(static_cast<std::uint64_t>(v)); }
    void write_f64(double d) {
        std::uint64_t bits;
        std::memcpy(&bits, &d, sizeof d);
        write_be(bits);
    }
    void write_uuid(const uuid& u) {
        buf_.append(reinterpret_cast<const char*>(u.data()), u.size());
    }
    void write_uvarint(std::uint32_t v) {
        while (v >= 0x80) {
            write_u8(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        write_u8(static_cast<std::uint8_t>(v));
    }
    void write_uvarlong(std::uint64_t v) {
        while (v >= 0x80) {
            write_u8(static_cast<std::uint8_t>(v | 0x80));
            v >>= 7;
        }
        write_u8(static_cast<std::uint8_t>(v));
    }
    void write_varint(std::int32_t v) {
        write_uvarint((static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31));
    }
    void write_varlong(std::int64_t v) {
        write_uvarlong((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
    }

    void write_string(std::string_view s, bool compact) {
        if (compact)
            write_uvarint(static_cast<std::uint32_t>(s.size() + 1));
        else
            write_i16(static_cast<std::int16_t>(s.size()));
        buf_.append(s);
    }
    void write_nullable_string(const std::optional<std::string>& s, bool compact) {
        if (!s) {
            if (compact)
                write_uvarint(0);
            else
                write_i16(-1);
        } else {
            write_string(*s, compact);
        }
    }
    void write_bytes(std::string_view s, bool compact) {
        if (compact)
            write_uvarint(static_cast<std::uint32_t>(s.size() + 1));
        else
            write_i32(static_cast<std::int32_t>(s.size()));
        buf_.append(s);
    }
    void write_null_bytes(bool compact) {
        if (compact)
            write_uvarint(0);
        else
            write_i32(-1);
    }
    void write_nullable_bytes(const std::optional<std::string>& s, bool compact) {
        if (s)
            write_bytes(*s, compact);
        else
            write_null_bytes(compact);
    }
    void write_records(const shared_bytes& s, bool compact) { write_bytes(s.view(), compact); }
    void write_nullable_records(const std::optional<shared_bytes>& s, bool compact) {
        if (s)
            write_bytes(s->view(), compact);
        else
            write_null_bytes(compact);
    }
    void write_array_count(std::int64_t n, bool compact) {  // n == -1: null
        if (compact)
            write_uvarint(static_cast<std::uint32_t>(n + 1));
        else
            write_i32(static_cast<std::int32_t>(n));
    }

private:
    template <class T>
    void write_be(T v) {
        char b[sizeof(T)];
        for (std::size_t i = 0; i < sizeof(T); ++i)
            b[i] = static_cast<char>(v >> (8 * (sizeof(T) - 1 - i)));
        buf_.append(b, sizeof(T));
    }

    std::string buf_;
};

// Unknown tagged fields are kept so a decode/encode round trip is lossless.
struct tagged_field {
    std::uint32_t tag = 0;
    std::string data;
    bool operator==(const tagged_field&) const = default;
};

}  // namespace hako::protocol
