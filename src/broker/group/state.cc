#include "broker/group/state.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "protocol/wire.h"

namespace hako::broker::group {

namespace {

constexpr std::uint8_t format_v1 = 1;

constexpr std::array<std::string_view, 5> names{"Empty", "PreparingRebalance",
                                                "CompletingRebalance", "Stable", "Dead"};

enum member_flags : std::uint8_t {
    flag_awaiting_join = 1,
    flag_pending_sync = 2,
    flag_is_new = 4,
};

enum group_flags : std::uint8_t {
    flag_initial_rebalance = 1,
    flag_new_member_added = 2,
};

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// Strings and bytes use the non-compact (int16 / int32 length) forms.
void write_member(protocol::writer& w, const member& m) {
    w.write_string(m.member_id, false);
    w.write_nullable_string(m.group_instance_id, false);
    w.write_string(m.client_id, false);
    w.write_string(m.client_host, false);
    w.write_i32(m.session_timeout_ms);
    w.write_i32(m.rebalance_timeout_ms);
    w.write_array_count(static_cast<std::int64_t>(m.protocols.size()), false);
    for (const auto& p : m.protocols) {
        w.write_string(p.name, false);
        w.write_bytes(p.metadata, false);
    }
    w.write_bytes(m.assignment, false);
    w.write_i64(m.last_heartbeat_ms);
    w.write_u8(static_cast<std::uint8_t>((m.awaiting_join ? flag_awaiting_join : 0) |
                                         (m.pending_sync ? flag_pending_sync : 0) |
                                         (m.is_new ? flag_is_new : 0)));
}

member read_member(protocol::reader& r) {
    member m;
    m.member_id = r.read_string(false);
    m.group_instance_id = r.read_nullable_string(false);
    m.client_id = r.read_string(false);
    m.client_host = r.read_string(false);
    m.session_timeout_ms = r.read_i32();
    m.rebalance_timeout_ms = r.read_i32();
    auto n = r.read_array_count(false);
    for (std::int32_t i = 0; i < n; ++i) {
        auto& p = m.protocols.emplace_back();
        p.name = r.read_string(false);
        p.metadata = r.read_bytes(false);
    }
    m.assignment = r.read_bytes(false);
    m.last_heartbeat_ms = r.read_i64();
    auto flags = r.read_u8();
    m.awaiting_join = flags & flag_awaiting_join;
    m.pending_sync = flags & flag_pending_sync;
    m.is_new = flags & flag_is_new;
    return m;
}

}  // namespace

std::string_view state_name(state s) {
    auto i = static_cast<std::size_t>(s);
    return i < names.size() ? names[i] : "Unknown";
}

std::optional<state> parse_state(std::string_view name) {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (iequals(name, names[i])) return static_cast<state>(i);
    return std::nullopt;
}

const member_protocol* member::find_protocol(std::string_view name) const {
    for (const auto& p : protocols)
        if (p.name == name) return &p;
    return nullptr;
}

member* group_metadata::find(std::string_view member_id) {
    for (auto& m : members)
        if (m.member_id == member_id) return &m;
    return nullptr;
}

const member* group_metadata::find(std::string_view member_id) const {
    return const_cast<group_metadata*>(this)->find(member_id);
}

member* group_metadata::find_instance(std::string_view group_instance_id) {
    for (auto& m : members)
        if (m.group_instance_id && *m.group_instance_id == group_instance_id) return &m;
    return nullptr;
}

const member* group_metadata::find_instance(std::string_view group_instance_id) const {
    return const_cast<group_metadata*>(this)->find_instance(group_instance_id);
}

bool group_metadata::is_pending(std::string_view member_id) const {
    return std::any_of(pending.begin(), pending.end(),
                       [&](const pending_member& p) { return p.member_id == member_id; });
}

std::string encode(const group_metadata& g) {
    protocol::writer w;
    w.write_u8(format_v1);
    w.write_i8(static_cast<std::int8_t>(g.current));
    w.write_i32(g.generation);
    w.write_nullable_string(g.protocol_type, false);
    w.write_nullable_string(g.protocol_name, false);
    w.write_string(g.leader, false);
    w.write_i64(g.state_timestamp_ms);
    w.write_i64(g.join_deadline_ms);
    w.write_u8(static_cast<std::uint8_t>((g.initial_rebalance ? flag_initial_rebalance : 0) |
                                         (g.new_member_added ? flag_new_member_added : 0)));
    w.write_i32(g.initial_delay_ms);
    w.write_i32(g.initial_remaining_ms);
    w.write_i64(g.sync_deadline_ms);
    w.write_i32(g.assigned_generation);
    w.write_array_count(static_cast<std::int64_t>(g.members.size()), false);
    for (const auto& m : g.members) write_member(w, m);
    w.write_array_count(static_cast<std::int64_t>(g.pending.size()), false);
    for (const auto& p : g.pending) {
        w.write_string(p.member_id, false);
        w.write_i64(p.expires_ms);
    }
    return w.take();
}

group_metadata decode(std::string_view blob) {
    protocol::reader r(blob);
    auto format = r.read_u8();
    if (format != format_v1)
        throw protocol::decode_error("group state blob has unknown format " +
                                     std::to_string(format));
    group_metadata g;
    auto s = r.read_i8();
    if (s < 0 || s > static_cast<std::int8_t>(state::dead))
        throw protocol::decode_error("group state blob has an invalid state");
    g.current = static_cast<state>(s);
    g.generation = r.read_i32();
    g.protocol_type = r.read_nullable_string(false);
    g.protocol_name = r.read_nullable_string(false);
    g.leader = r.read_string(false);
    g.state_timestamp_ms = r.read_i64();
    g.join_deadline_ms = r.read_i64();
    auto flags = r.read_u8();
    g.initial_rebalance = flags & flag_initial_rebalance;
    g.new_member_added = flags & flag_new_member_added;
    g.initial_delay_ms = r.read_i32();
    g.initial_remaining_ms = r.read_i32();
    g.sync_deadline_ms = r.read_i64();
    g.assigned_generation = r.read_i32();
    auto n = r.read_array_count(false);
    if (n < 0) throw protocol::decode_error("group state blob has a null member list");
    g.members.reserve(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) g.members.push_back(read_member(r));
    auto np = r.read_array_count(false);
    if (np < 0) throw protocol::decode_error("group state blob has a null pending list");
    for (std::int32_t i = 0; i < np; ++i) {
        auto& p = g.pending.emplace_back();
        p.member_id = r.read_string(false);
        p.expires_ms = r.read_i64();
    }
    if (!r.empty()) throw protocol::decode_error("group state blob has trailing bytes");
    return g;
}

}  // namespace hako::broker::group
