#include "broker/group/coordinator.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <climits>

namespace hako::broker::group {

namespace asio = boost::asio;

namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// An Empty group without offsets goes only after this long (or after offsets.retention,
// if shorter), so a simple commit that has just created its group is not undone before
// its offsets land.
constexpr std::int64_t empty_group_grace_ms = 60000;

}  // namespace

std::string make_member_id(const std::string& client_id,
                           const std::optional<std::string>& group_instance_id) {
    auto u = storage::random_uuid();
    std::string hex;
    for (std::size_t i = 0; i < u.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
        hex += fmt::format("{:02x}", u[i]);
    }
    return (group_instance_id ? *group_instance_id : client_id) + "-" + hex;
}

coordinator::coordinator(storage::engine& store, settings s, asio::any_io_executor ex)
    : store_(store), settings_(s), ex_(ex), sweep_timer_(ex) {}

awaitable<coordinator::loaded> coordinator::load(const std::string& group_id) {
    loaded l;
    auto st = co_await store_.load_group(group_id);
    if (st && st->version > 0) {
        l.g = decode(st->data);
        l.exists = true;
        l.version = st->version;
    }
    co_return l;
}

awaitable<bool> coordinator::store(const std::string& group_id, const group_metadata& g,
                                   std::int64_t version) {
    auto v = co_await store_.store_group(group_id, encode(g), version);
    if (!v) co_return false;
    wakeups_.notify(group_id);
    co_return true;
}

bool coordinator::refresh(group_metadata& g, const std::string& member_id, std::int64_t now) {
    bool changed = tick(g, now, settings_);
    if (auto* m = g.find(member_id); m && now - m->last_heartbeat_ms >= m->session_timeout_ms / 3) {
        m->last_heartbeat_ms = now;
        changed = true;
    }
    return changed;
}

awaitable<void> coordinator::park(const std::string& group_id, wakeups::token seen,
                                  const group_metadata& g, const std::string& member_id,
                                  std::int64_t now) {
    const bool shared = store_.poll_interval().count() > 0;
    std::int64_t until = now + (shared ? settings_.poll_interval_ms : 1000);
    until = std::min(until, next_deadline(g));
    if (const auto* m = g.find(member_id))
        until = std::min(until, m->last_heartbeat_ms + m->session_timeout_ms / 3);
    auto wait_ms = std::max<std::int64_t>(until - now, 5);
    co_await wakeups_.wait(group_id, seen,
                           std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms));
}

// --- JoinGroup / SyncGroup -------------------------------------------------------------------

awaitable<join_response> coordinator::join(std::string group_id, join_request req) {
    join_decision d;
    for (;;) {
        auto l = co_await load(group_id);
        auto now = wall_ms();
        bool changed = l.exists && tick(l.g, now, settings_);
        d = group::join(l.g, l.exists, req, make_member_id(req.client_id, req.group_instance_id),
                        now, settings_);
        if (d.changed) tick(l.g, now, settings_);  // the last member in completes the phase
        if (!(changed || d.changed) || co_await store(group_id, l.g, l.version)) break;
    }
    if (d.reply) co_return *d.reply;
    co_return co_await await_join(group_id, d.member_id, req.group_instance_id, d.from_generation);
}

awaitable<join_response> coordinator::await_join(
    const std::string& group_id, const std::string& member_id,
    const std::optional<std::string>& group_instance_id, std::int32_t from_generation) {
    for (;;) {
        if (stopping_) {
            join_response r;
            r.error = error_code::not_coordinator;
            r.member_id = member_id;
            co_return r;
        }
        auto seen = wakeups_.current(group_id);
        auto l = co_await load(group_id);
        auto now = wall_ms();
        if (l.exists && refresh(l.g, member_id, now) && !co_await store(group_id, l.g, l.version))
            continue;
        if (auto r = join_outcome(l.g, l.exists, member_id, group_instance_id, from_generation))
            co_return *r;
        co_await park(group_id, seen, l.g, member_id, now);
    }
}

awaitable<sync_response> coordinator::sync(std::string group_id, sync_request req) {
    sync_decision d;
    for (;;) {
        auto l = co_await load(group_id);
        auto now = wall_ms();
        bool changed = l.exists && tick(l.g, now, settings_);
        d = group::sync(l.g, l.exists, req, now);
        if (!(changed || d.changed) || co_await store(group_id, l.g, l.version)) break;
    }
    if (d.reply) co_return *d.reply;
    co_return co_await await_sync(group_id, req);
}

awaitable<sync_response> coordinator::await_sync(const std::string& group_id,
                                                 const sync_request& req) {
    for (;;) {
        if (stopping_) {
            sync_response r;
            r.error = error_code::not_coordinator;
            co_return r;
        }
        auto seen = wakeups_.current(group_id);
        auto l = co_await load(group_id);
        auto now = wall_ms();
        if (l.exists && refresh(l.g, req.member_id, now) &&
            !co_await store(group_id, l.g, l.version))
            continue;
        if (auto r = sync_outcome(l.g, l.exists, req)) co_return *r;
        co_await park(group_id, seen, l.g, req.member_id, now);
    }
}

// --- Heartbeat, LeaveGroup, OffsetCommit ------------------------------------------------------

awaitable<error_code> coordinator::heartbeat(std::string group_id, std::string member_id,
                                             std::optional<std::string> group_instance_id,
                                             std::int32_t generation) {
    for (;;) {
        auto l = co_await load(group_id);
        auto now = wall_ms();
        bool changed = l.exists && tick(l.g, now, settings_);
        auto d = group::heartbeat(l.g, l.exists, member_id, group_instance_id, generation, now);
        if (!(changed || d.changed) || co_await store(group_id, l.g, l.version)) co_return d.error;
    }
}

awaitable<leave_decision> coordinator::leave(std::string group_id, std::vector<leave_member> who) {
    for (;;) {
        auto l = co_await load(group_id);
        auto now = wall_ms();
        bool changed = l.exists && tick(l.g, now, settings_);
        auto d = group::leave(l.g, l.exists, who, now, settings_);
        if (d.changed) tick(l.g, now, settings_);  // the last to leave may end a join phase
        if (!(changed || d.changed) || co_await store(group_id, l.g, l.version)) co_return d;
    }
}

awaitable<error_code> coordinator::authorize_commit(std::string group_id, std::string member_id,
                                                    std::optional<std::string> group_instance_id,
                                                    std::int32_t generation, std::int16_t version) {
    for (;;) {
        auto l = co_await load(group_id);
        auto now = wall_ms();
        bool changed = l.exists && tick(l.g, now, settings_);
        auto d = validate_commit(l.g, l.exists, member_id, group_instance_id, generation, version);
        if (d.create) {
            l.g = group_metadata{};
            l.g.state_timestamp_ms = now;
            changed = true;
        }
        if (!changed || co_await store(group_id, l.g, l.version)) co_return d.error;
    }
}

// --- admin -----------------------------------------------------------------------------------

awaitable<group_description> coordinator::describe(std::string group_id) {
    for (;;) {
        auto l = co_await load(group_id);
        auto now = wall_ms();
        if (l.exists && tick(l.g, now, settings_) && !co_await store(group_id, l.g, l.version))
            continue;
        group_description d;
        if (!l.exists) co_return d;  // Kafka describes an unknown group as Dead
        const auto& g = l.g;
        d.exists = true;
        d.current = g.current;
        d.protocol_type = g.protocol_type.value_or("");
        const bool stable = g.current == state::stable;
        if (stable) d.protocol_name = g.protocol_name.value_or("");
        for (const auto& m : g.members) {
            auto& md = d.members.emplace_back();
            md.member_id = m.member_id;
            md.group_instance_id = m.group_instance_id;
            md.client_id = m.client_id;
            md.client_host = m.client_host;
            if (stable) {
                if (const auto* p = m.find_protocol(d.protocol_name)) md.metadata = p->metadata;
                md.assignment = m.assignment;
            }
        }
        co_return d;
    }
}

awaitable<std::vector<group_listing>> coordinator::list() {
    std::vector<group_listing> out;
    auto now = wall_ms();
    for (auto& st : co_await store_.list_groups()) {
        if (st.version <= 0) continue;
        try {
            auto g = decode(st.data);
            tick(g, now, settings_);  // report what the next touch would make of it
            out.push_back({st.group_id, g.protocol_type.value_or(""), g.current});
        } catch (const protocol::decode_error& e) {
            fmt::print(stderr, "hako: group {}: unreadable state: {}\n", st.group_id, e.what());
        }
    }
    co_return out;
}

awaitable<error_code> coordinator::remove(std::string group_id) {
    for (;;) {
        auto l = co_await load(group_id);
        if (!l.exists) co_return error_code::group_id_not_found;
        tick(l.g, wall_ms(), settings_);
        if (l.g.current != state::empty) co_return error_code::non_empty_group;
        if (co_await store_.delete_group(group_id, l.version)) {
            wakeups_.notify(group_id);
            co_return error_code::none;
        }
    }
}

awaitable<offset_delete_scope> coordinator::offset_delete_scope_of(std::string group_id) {
    for (;;) {
        auto l = co_await load(group_id);
        offset_delete_scope s;
        if (!l.exists) {
            s.error = error_code::group_id_not_found;
            co_return s;
        }
        if (tick(l.g, wall_ms(), settings_) && !co_await store(group_id, l.g, l.version)) continue;
        if (l.g.current == state::empty) {
            s.everything = true;
        } else if (l.g.protocol_type == "consumer") {
            s.subscribed = subscribed_topics(l.g);
        } else {
            s.error = error_code::non_empty_group;
        }
        co_return s;
    }
}

// --- background ----------------------------------------------------------------------------

void coordinator::stop() {
    stopping_ = true;
    sweep_timer_.cancel();
    wakeups_.notify_all();
}

awaitable<void> coordinator::run() {
    auto next_retention = wall_ms() + settings_.offsets_retention_check_interval_ms;
    while (!stopping_) {
        sweep_timer_.expires_after(std::chrono::milliseconds(settings_.sweep_interval_ms));
        boost::system::error_code ec;
        co_await sweep_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopping_) break;
        try {
            auto now = wall_ms();
            co_await sweep(now);
            if (now >= next_retention) {
                next_retention = now + settings_.offsets_retention_check_interval_ms;
                co_await expire_offsets(now);
            }
        } catch (const std::exception& e) {
            fmt::print(stderr, "hako: group sweep failed: {}\n", e.what());
        }
    }
}

awaitable<void> coordinator::sweep(std::int64_t now) {
    for (auto& st : co_await store_.list_groups()) {
        if (stopping_) co_return;
        if (st.version <= 0) continue;
        group_metadata g;
        try {
            g = decode(st.data);
        } catch (const protocol::decode_error&) {
            continue;
        }
        if (next_deadline(g) > now) continue;
        // A conflict means someone else touched the group, and touching runs tick.
        if (tick(g, now, settings_)) co_await store(st.group_id, g, st.version);
    }
}

awaitable<void> coordinator::expire_offsets(std::int64_t now) {
    for (auto& st : co_await store_.list_groups()) {
        if (stopping_) co_return;
        if (st.version <= 0) continue;
        group_metadata g;
        try {
            g = decode(st.data);
        } catch (const protocol::decode_error&) {
            continue;
        }
        tick(g, now, settings_);
        auto subscribed = subscribed_topics(g);
        auto offsets = co_await store_.fetch_offsets(st.group_id);
        std::vector<std::pair<std::string, std::int32_t>> expired;
        for (const auto& o : offsets)
            if (offset_expired(g, subscribed, o.topic, o.commit_timestamp, now,
                               settings_.offsets_retention_ms))
                expired.emplace_back(o.topic, o.partition);
        if (!expired.empty()) co_await store_.delete_offsets(st.group_id, expired);
        // An Empty group without offsets is gone, as Kafka's cleanup removes it.
        // (Offsets carry no version: look again right before, so a commit that slipped in
        // keeps its group.)
        if (g.current == state::empty && expired.size() == offsets.size() &&
            now - g.state_timestamp_ms >=
                std::min(empty_group_grace_ms, settings_.offsets_retention_ms) &&
            (co_await store_.fetch_offsets(st.group_id)).empty()) {
            if (co_await store_.delete_group(st.group_id, st.version)) wakeups_.notify(st.group_id);
        }
    }
}

}  // namespace hako::broker::group
