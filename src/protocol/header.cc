#include "protocol/header.h"

namespace hako::protocol {

void request_header::decode(reader& r, bool flexible) {
    api_key = r.read_i16();
    api_version = r.read_i16();
    correlation_id = r.read_i32();
    client_id = r.read_nullable_string(false);
    tagged_fields.clear();
    if (flexible) {
        auto n = r.read_uvarint();
        if (n > r.remaining()) throw decode_error("too many tagged fields in header");
        for (std::uint32_t i = 0; i < n; ++i) {
            auto tag = r.read_uvarint();
            auto size = r.read_uvarint();
            tagged_fields.push_back({tag, std::string(r.take(size))});
        }
    }
}

void request_header::encode(writer& w, bool flexible) const {
    w.write_i16(api_key);
    w.write_i16(api_version);
    w.write_i32(correlation_id);
    w.write_nullable_string(client_id, false);
    if (flexible) {
        w.write_uvarint(static_cast<std::uint32_t>(tagged_fields.size()));
        for (const auto& t : tagged_fields) {
            w.write_uvarint(t.tag);
            w.write_uvarint(static_cast<std::uint32_t>(t.data.size()));
            w.write_raw(t.data);
        }
    }
}

request_prefix peek_request_prefix(std::string_view frame) {
    reader r(frame);
    request_prefix p;
    p.api_key = r.read_i16();
    p.api_version = r.read_i16();
    p.correlation_id = r.read_i32();
    return p;
}

void write_response_header(writer& w, std::int32_t correlation_id, bool flexible) {
    w.write_i32(correlation_id);
    if (flexible) w.write_uvarint(0);
}

}  // namespace hako::protocol
