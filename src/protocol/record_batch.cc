#include "protocol/record_batch.h"

#include <algorithm>
#include <climits>

#include "protocol/crc32c.h"
#include "protocol/wire.h"

namespace hako::protocol {

namespace {

// Byte offsets inside a v2 batch (wire notes §6).
constexpr std::size_t off_batch_length = 8;
constexpr std::size_t off_leader_epoch = 12;
constexpr std::size_t off_magic = 16;
constexpr std::size_t off_crc = 17;
constexpr std::size_t off_attributes = 21;
constexpr std::size_t off_max_timestamp = 35;
// batch_length of a batch with no record bytes at all.
constexpr std::int32_t min_batch_length =
    static_cast<std::int32_t>(batch_header_size - batch_log_overhead);
// Smallest possible record: length, attributes, timestamp delta, offset delta, key
// length, value length and header count, one byte each.
constexpr std::size_t min_record_size = 7;

[[noreturn]] void corrupt(const std::string& why) {
    throw batch_error(error_code::corrupt_message, why);
}

template <class T>
void put_be(std::span<char> buf, std::size_t off, T v) {
    auto u = static_cast<std::make_unsigned_t<T>>(v);
    for (std::size_t i = 0; i < sizeof(T); ++i)
        buf[off + i] = static_cast<char>(u >> (8 * (sizeof(T) - 1 - i)));
}

std::string_view as_view(std::span<char> s) { return {s.data(), s.size()}; }

std::uint32_t batch_crc(std::string_view batch, std::size_t total) {
    return crc32c(batch.data() + off_attributes, total - off_attributes);
}

std::optional<std::string> read_var_bytes(reader& r, const char* what) {
    auto n = r.read_varint();
    if (n == -1) return std::nullopt;
    if (n < 0) corrupt(std::string("negative ") + what + " length");
    return std::string(r.take(static_cast<std::size_t>(n)));
}

record read_record(reader& in) {
    auto len = in.read_varint();
    if (len < 0) corrupt("negative record length");
    reader r(in.take(static_cast<std::size_t>(len)));
    record rec;
    rec.attributes = r.read_i8();
    rec.timestamp_delta = r.read_varlong();
    rec.offset_delta = r.read_varint();
    rec.key = read_var_bytes(r, "key");
    rec.value = read_var_bytes(r, "value");
    auto count = r.read_varint();
    // Each header takes at least two bytes (key and value lengths), which bounds the
    // reservation by what the record really carries.
    if (count < 0 || static_cast<std::size_t>(count) > r.remaining() / 2)
        corrupt("bad header count");
    rec.headers.reserve(static_cast<std::size_t>(count));
    for (std::int32_t i = 0; i < count; ++i) {
        auto key = read_var_bytes(r, "header key");
        if (!key) corrupt("null header key");
        rec.headers.push_back({std::move(*key), read_var_bytes(r, "header value")});
    }
    if (!r.empty()) corrupt("record length does not match its fields");
    return rec;
}

void write_len(writer& w, std::size_t n) {
    if (n > static_cast<std::size_t>(INT32_MAX))
        throw batch_error(error_code::message_too_large, "field over 2 GiB");
    w.write_varint(static_cast<std::int32_t>(n));
}

void write_var_bytes(writer& w, const std::optional<std::string>& s) {
    if (!s) return w.write_varint(-1);
    write_len(w, s->size());
    w.write_raw(*s);
}

// Appends one record (length prefix included) to `out`; `scratch` is reused between calls.
void write_record(writer& out, writer& scratch, const record& rec) {
    scratch.buffer().clear();
    scratch.write_i8(rec.attributes);
    scratch.write_varlong(rec.timestamp_delta);
    scratch.write_varint(rec.offset_delta);
    write_var_bytes(scratch, rec.key);
    write_var_bytes(scratch, rec.value);
    write_len(scratch, rec.headers.size());
    for (const auto& h : rec.headers) {
        write_len(scratch, h.key.size());
        scratch.write_raw(h.key);
        write_var_bytes(scratch, h.value);
    }
    write_len(out, scratch.size());
    out.write_raw(scratch.buffer());
}

}  // namespace

std::optional<batch_header> peek_batch_header(std::string_view bytes) {
    if (bytes.size() < batch_header_size) return std::nullopt;
    reader r(bytes.substr(0, batch_header_size));
    batch_header h;
    h.base_offset = r.read_i64();
    h.batch_length = r.read_i32();
    h.partition_leader_epoch = r.read_i32();
    h.magic = r.read_i8();
    h.crc = r.read_u32();
    h.attributes = r.read_i16();
    h.last_offset_delta = r.read_i32();
    h.base_timestamp = r.read_i64();
    h.max_timestamp = r.read_i64();
    h.producer_id = r.read_i64();
    h.producer_epoch = r.read_i16();
    h.base_sequence = r.read_i32();
    h.records_count = r.read_i32();
    return h;
}

batch_header read_batch_header(std::string_view bytes) {
    // Byte 16 is the magic in every format, so a legacy message set is recognised even
    // when it is shorter than a v2 header.
    if (bytes.size() > off_magic && bytes[off_magic] != batch_magic_v2)
        throw batch_error(error_code::unsupported_for_message_format,
                          "record batch magic " +
                              std::to_string(static_cast<int>(bytes[off_magic])) +
                              " is not supported; only magic 2");
    auto h = peek_batch_header(bytes);
    if (!h) corrupt("record batch shorter than its 61-byte header");
    if (h->batch_length < min_batch_length) corrupt("record batch length below the header size");
    if (h->total_size() > bytes.size()) corrupt("record batch length exceeds the bytes present");
    if (h->records_count < 0) corrupt("negative record count");
    return *h;
}

bool crc_ok(std::string_view batch) {
    auto h = peek_batch_header(batch);
    if (!h || h->batch_length < min_batch_length || h->total_size() > batch.size()) return false;
    return batch_crc(batch, h->total_size()) == h->crc;
}

std::uint32_t whole_batch_crc32c(std::string_view batch) {
    if (batch.size() < off_attributes) return crc32c(batch);
    std::uint32_t carried = 0;
    for (std::size_t i = 0; i < 4; ++i)
        carried = carried << 8 | static_cast<unsigned char>(batch[off_crc + i]);
    return crc32c_combine(crc32c(batch.substr(0, off_attributes)), carried,
                          batch.size() - off_attributes);
}

std::vector<std::string_view> split_batches(std::string_view records, bool allow_truncated_tail) {
    std::vector<std::string_view> out;
    while (!records.empty()) {
        if (records.size() > off_magic && records[off_magic] != batch_magic_v2)
            throw batch_error(error_code::unsupported_for_message_format,
                              "record batch magic is not 2");
        std::size_t total = 0;
        if (records.size() >= batch_log_overhead) {
            auto length = reader(records.substr(off_batch_length, 4)).read_i32();
            if (length < min_batch_length) corrupt("record batch length below the header size");
            total = static_cast<std::size_t>(length) + batch_log_overhead;
        }
        if (total == 0 || total > records.size()) {
            if (allow_truncated_tail) break;
            corrupt("truncated record batch");
        }
        out.push_back(records.substr(0, total));
        records.remove_prefix(total);
    }
    return out;
}

std::vector<record> decode_records(std::string_view batch, std::size_t max_uncompressed) {
    auto h = read_batch_header(batch);
    auto body = batch.substr(batch_header_size, h.total_size() - batch_header_size);
    std::string inflated;
    if (h.codec() != compression::none) {
        if (static_cast<int>(h.codec()) > static_cast<int>(compression::zstd))
            corrupt("unknown compression codec " + std::to_string(static_cast<int>(h.codec())));
        try {
            inflated = decompress(h.codec(), body, max_uncompressed);
        } catch (const codec_error& e) {
            corrupt(std::string("cannot decompress records: ") + e.what());
        }
        body = inflated;
    }
    if (static_cast<std::size_t>(h.records_count) > body.size() / min_record_size)
        corrupt("record count exceeds the record bytes");
    std::vector<record> out;
    out.reserve(static_cast<std::size_t>(h.records_count));
    try {
        reader r(body);
        for (std::int32_t i = 0; i < h.records_count; ++i) out.push_back(read_record(r));
        if (!r.empty()) corrupt("bytes left after the last record");
    } catch (const decode_error& e) {
        corrupt(std::string("malformed record: ") + e.what());
    }
    return out;
}

std::string build_batch(const batch_builder_options& o, const std::vector<record>& records) {
    writer body;
    writer scratch;
    std::int64_t max_delta = 0;
    for (const auto& rec : records) {
        write_record(body, scratch, rec);
        max_delta = std::max(max_delta, rec.timestamp_delta);
    }
    auto blob = o.codec == compression::none ? body.take() : compress(o.codec, body.buffer());
    if (blob.size() > static_cast<std::size_t>(INT32_MAX) - batch_header_size)
        throw batch_error(error_code::message_too_large, "record batch over 2 GiB");

    std::int16_t attributes = static_cast<std::int16_t>(o.codec);
    if (o.log_append_time) attributes |= batch_attr::log_append_time;
    if (o.transactional) attributes |= batch_attr::transactional;
    if (o.control) attributes |= batch_attr::control;

    writer w;
    w.buffer().reserve(batch_header_size + blob.size());
    w.write_i64(o.base_offset);
    w.write_i32(static_cast<std::int32_t>(batch_header_size - batch_log_overhead + blob.size()));
    w.write_i32(o.partition_leader_epoch);
    w.write_i8(batch_magic_v2);
    w.write_u32(0);  // CRC, filled in below once the covered bytes exist
    w.write_i16(attributes);
    w.write_i32(o.last_offset_delta.value_or(records.empty() ? 0 : records.back().offset_delta));
    w.write_i64(o.base_timestamp);
    w.write_i64(o.max_timestamp.value_or(records.empty() ? o.base_timestamp
                                                         : o.base_timestamp + max_delta));
    w.write_i64(o.producer_id);
    w.write_i16(o.producer_epoch);
    w.write_i32(o.base_sequence);
    w.write_i32(static_cast<std::int32_t>(records.size()));
    w.write_raw(blob);
    auto out = w.take();
    put_be(out, off_crc, batch_crc(out, out.size()));
    return out;
}

void set_base_offset(std::span<char> batch, std::int64_t base_offset) {
    read_batch_header(as_view(batch));
    put_be(batch, 0, base_offset);
}

void set_partition_leader_epoch(std::span<char> batch, std::int32_t epoch) {
    read_batch_header(as_view(batch));
    put_be(batch, off_leader_epoch, epoch);
}

void set_log_append_time(std::span<char> batch, std::int64_t timestamp) {
    auto h = read_batch_header(as_view(batch));
    put_be(batch, off_attributes,
           static_cast<std::int16_t>(h.attributes | batch_attr::log_append_time));
    put_be(batch, off_max_timestamp, timestamp);
    put_be(batch, off_crc, batch_crc(as_view(batch), h.total_size()));
}

void update_crc(std::span<char> batch) {
    auto h = read_batch_header(as_view(batch));
    put_be(batch, off_crc, batch_crc(as_view(batch), h.total_size()));
}

error_code validate_produced_batch(std::string_view batch) {
    batch_header h;
    try {
        h = read_batch_header(batch);
    } catch (const batch_error& e) {
        return e.code;
    }
    // Produce v3+ carries exactly one batch per partition.
    if (h.total_size() != batch.size()) return error_code::invalid_record;
    if (batch_crc(batch, h.total_size()) != h.crc) return error_code::corrupt_message;
    // The CRC matched, so the producer really wrote codec 5-7: retrying cannot help, which
    // INVALID_RECORD (not retriable) tells the client, unlike CORRUPT_MESSAGE.
    if ((h.attributes & batch_attr::compression_mask) > static_cast<int>(compression::zstd))
        return error_code::invalid_record;
    if (h.records_count <= 0 ||
        static_cast<std::int64_t>(h.last_offset_delta) + 1 != h.records_count)
        return error_code::invalid_record;
    if (h.is_control()) return error_code::invalid_record;
    if (h.producer_id >= 0 && h.base_sequence < 0) return error_code::invalid_record;
    return error_code::none;
}

error_code validate_batch_records(std::string_view batch, std::size_t max_uncompressed) {
    try {
        auto records = decode_records(batch, max_uncompressed);
        for (std::size_t i = 0; i < records.size(); ++i)
            if (records[i].offset_delta != static_cast<std::int32_t>(i))
                return error_code::invalid_record;
    } catch (const batch_error& e) {
        return e.code;
    }
    return error_code::none;
}

std::string build_txn_marker(std::int64_t producer_id, std::int16_t producer_epoch,
                             control_type type, std::int32_t coordinator_epoch,
                             std::int64_t timestamp) {
    writer key;
    key.write_i16(0);  // version
    key.write_i16(static_cast<std::int16_t>(type));
    writer value;
    value.write_i16(0);  // version
    value.write_i32(coordinator_epoch);
    record rec;
    rec.key = key.take();
    rec.value = value.take();
    batch_builder_options o;
    o.base_timestamp = timestamp;
    o.producer_id = producer_id;
    o.producer_epoch = producer_epoch;
    o.transactional = true;
    o.control = true;
    return build_batch(o, {rec});
}

std::optional<control_type> read_control_type(const record& r) {
    if (!r.key || r.key->size() < 4) return std::nullopt;
    reader k(*r.key);
    k.read_i16();  // version; every version so far starts with the type
    return static_cast<control_type>(k.read_i16());
}

}  // namespace hako::protocol
