// Documents and key names of the s3:// engine (s3_layout.h). JSON through nlohmann-json;
// bytes that need not be text (producer state, group state) are base64.
#include "storage/s3/s3_layout.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "storage/base64.h"
#include "storage/s3/sigv4.h"

namespace hako::storage::s3 {

using json = nlohmann::json;

namespace {
json entry_json(const object_entry& e) {
    return json::array({e.base, e.last, e.max_timestamp, e.bytes, e.name});
}
object_entry entry_from(const json& j) {
    return {j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>(), j.at(2).get<std::int64_t>(),
            j.at(3).get<std::int64_t>(), j.at(4).get<std::string>()};
}
}  // namespace

std::string encode_state(const partition_state& s) {
    json j;
    j["next"] = s.next;
    j["log_start"] = s.log_start;
    auto& objs = j["objects"] = json::array();
    for (const auto& e : s.objects) objs.push_back(entry_json(e));
    auto& segs = j["segments"] = json::array();
    for (const auto& g : s.segments) segs.push_back(json::array({g.first, g.last, g.name}));
    auto& prod = j["producers"] = json::object();
    for (const auto& [id, data] : s.producers) prod[std::to_string(id)] = base64_encode(data);
    if (!s.retired.empty()) {
        auto& ret = j["retired"] = json::array();
        for (const auto& r : s.retired) ret.push_back(json::array({r.name, r.due_ms}));
    }
    return j.dump();
}

partition_state decode_state(std::string_view text) {
    try {
        auto j = json::parse(text);
        partition_state s;
        s.next = j.at("next").get<std::int64_t>();
        s.log_start = j.at("log_start").get<std::int64_t>();
        for (const auto& e : j.at("objects")) s.objects.push_back(entry_from(e));
        for (const auto& g : j.at("segments"))
            s.segments.push_back({g.at(0).get<std::int64_t>(), g.at(1).get<std::int64_t>(),
                                  g.at(2).get<std::string>()});
        for (const auto& [id, data] : j.at("producers").items())
            s.producers[std::stoll(id)] = base64_decode(data.get<std::string>());
        if (auto it = j.find("retired"); it != j.end())
            for (const auto& r : *it)
                s.retired.push_back({r.at(0).get<std::string>(), r.at(1).get<std::int64_t>()});
        return s;
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("s3: corrupt partition watermark document: ") +
                                 e.what());
    }
}

std::string encode_segment(const std::vector<object_entry>& entries) {
    auto j = json::array();
    for (const auto& e : entries) j.push_back(entry_json(e));
    return j.dump();
}

std::vector<object_entry> decode_segment(std::string_view text) {
    std::vector<object_entry> out;
    for (const auto& e : json::parse(text)) out.push_back(entry_from(e));
    return out;
}

std::string encode_topic(const topic_info& t) {
    json j;
    j["name"] = t.name;
    j["id"] = uuid_hex(t.id);
    j["partitions"] = t.partitions;
    j["configs"] = json::object();
    for (const auto& [k, v] : t.configs) j["configs"][k] = v;
    return j.dump();
}

topic_info decode_topic(std::string_view text) {
    auto j = json::parse(text);
    topic_info t;
    t.name = j.at("name").get<std::string>();
    auto id = uuid_from_hex(j.at("id").get<std::string>());
    if (!id) throw std::runtime_error("s3: corrupt topic document (id)");
    t.id = *id;
    t.partitions = j.at("partitions").get<std::int32_t>();
    for (const auto& [k, v] : j.at("configs").items()) t.configs[k] = v.get<std::string>();
    return t;
}

std::string uuid_hex(const protocol::uuid& id) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (auto b : id) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

std::optional<protocol::uuid> uuid_from_hex(std::string_view hex) {
    if (hex.size() != 32) return std::nullopt;
    protocol::uuid id{};
    for (std::size_t i = 0; i < 16; ++i) {
        unsigned v = 0;
        if (std::sscanf(std::string(hex.substr(2 * i, 2)).c_str(), "%2x", &v) != 1)
            return std::nullopt;
        id[i] = static_cast<std::uint8_t>(v);
    }
    return id;
}

std::string offset_name(std::int64_t offset) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(offset));
    return buf;
}

std::string key_segment(std::string_view s) {
    return uri_encode(s, false);
}

std::string key_segment_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace hako::storage::s3
