#include "broker/group/machine.h"

#include <algorithm>
#include <climits>
#include <map>

#include "protocol/wire.h"

namespace hako::broker::group {

namespace {

constexpr std::string_view consumer_protocol_type = "consumer";

std::int32_t rebalance_timeout(const group_metadata& g) {
    std::int32_t t = 0;
    for (const auto& m : g.members) t = std::max(t, m.rebalance_timeout_ms);
    return t;
}

void transition(group_metadata& g, state s, std::int64_t now) {
    g.current = s;
    g.state_timestamp_ms = now;
}

void remove_member(group_metadata& g, std::string_view member_id) {
    std::erase_if(g.members, [&](const member& m) { return m.member_id == member_id; });
    if (g.leader == member_id) g.leader = g.members.empty() ? "" : g.members.front().member_id;
}

bool can_rebalance(const group_metadata& g) {
    return g.current == state::stable || g.current == state::completing_rebalance ||
           g.current == state::empty;
}

// Kafka's prepareRebalance: followers waiting in SyncGroup are told to rejoin (their
// assignments are dropped), and the join phase gets its deadline.
void prepare_rebalance(group_metadata& g, std::int64_t now, const settings& s) {
    if (g.current == state::completing_rebalance)
        for (auto& m : g.members) m.assignment.clear();
    for (auto& m : g.members) m.pending_sync = false;
    g.sync_deadline_ms = 0;
    if (g.current == state::empty) {
        // A new group: give the other members time to show up before the first generation.
        g.initial_rebalance = true;
        g.new_member_added = false;
        g.initial_delay_ms = s.initial_rebalance_delay_ms;
        g.initial_remaining_ms = std::max(rebalance_timeout(g) - s.initial_rebalance_delay_ms, 0);
        g.join_deadline_ms = now + s.initial_rebalance_delay_ms;
    } else {
        g.initial_rebalance = false;
        g.join_deadline_ms = now + rebalance_timeout(g);
    }
    transition(g, state::preparing_rebalance, now);
}

bool all_joined(const group_metadata& g) {
    return g.pending.empty() && std::all_of(g.members.begin(), g.members.end(),
                                            [](const member& m) { return m.awaiting_join; });
}

// Kafka's maybeElectNewJoinedLeader: keep a leader that rejoined, else the first member that
// did; false when nobody rejoined.
bool elect_joined_leader(group_metadata& g) {
    if (const auto* l = g.find(g.leader); l && l->awaiting_join) return true;
    for (const auto& m : g.members) {
        if (m.awaiting_join) {
            g.leader = m.member_id;
            return true;
        }
    }
    return false;
}

// Kafka's completeClassicGroupJoin: drop dynamic members that did not rejoin, start the
// next generation and wait for SyncGroup from everyone.
void complete_join(group_metadata& g, std::int64_t now) {
    std::vector<std::string> gone;
    for (const auto& m : g.members)
        if (!m.awaiting_join && !m.group_instance_id) gone.push_back(m.member_id);
    for (const auto& id : gone) remove_member(g, id);

    g.initial_rebalance = false;
    g.new_member_added = false;
    if (!elect_joined_leader(g) && !g.members.empty()) {
        // Only static members that have not rejoined are left: wait for them once more
        // (their sessions expire them if they are gone).
        g.join_deadline_ms = now + rebalance_timeout(g);
        return;
    }
    ++g.generation;
    if (g.members.empty()) {
        g.protocol_name.reset();
        g.leader.clear();
        transition(g, state::empty, now);
        return;
    }
    g.protocol_name = select_protocol(g);
    for (auto& m : g.members) {
        m.awaiting_join = false;
        m.is_new = false;
        m.pending_sync = true;
        m.last_heartbeat_ms = now;
    }
    g.sync_deadline_ms = now + rebalance_timeout(g);
    transition(g, state::completing_rebalance, now);
}

// Kafka's supportsProtocols.
bool supports_protocols(const group_metadata& g, const join_request& req) {
    if (g.current == state::empty || g.members.empty())
        return !req.protocol_type.empty() && !req.protocols.empty();
    if (g.protocol_type != req.protocol_type) return false;
    return std::any_of(req.protocols.begin(), req.protocols.end(), [&](const member_protocol& p) {
        return std::all_of(g.members.begin(), g.members.end(),
                           [&](const member& m) { return m.find_protocol(p.name) != nullptr; });
    });
}

// Kafka's validateMember: a static member must be the one its instance id maps to.
error_code validate_member(const group_metadata& g, std::string_view member_id,
                           const std::optional<std::string>& group_instance_id) {
    if (group_instance_id) {
        const auto* owner = g.find_instance(*group_instance_id);
        if (!owner) return error_code::unknown_member_id;
        if (owner->member_id != member_id) return error_code::fenced_instance_id;
    }
    return g.find(member_id) ? error_code::none : error_code::unknown_member_id;
}

// Members of the current generation with their metadata for the selected protocol, in
// join order (what the leader assigns from).
std::vector<join_member_info> current_members(const group_metadata& g) {
    std::vector<join_member_info> out;
    for (const auto& m : g.members) {
        if (m.is_new) continue;  // joined the next rebalance, not this generation
        const auto* p = g.protocol_name ? m.find_protocol(*g.protocol_name) : nullptr;
        out.push_back({m.member_id, m.group_instance_id, p ? p->metadata : std::string()});
    }
    return out;
}

join_response generation_answer(const group_metadata& g, const std::string& member_id,
                                bool with_members) {
    join_response r;
    r.generation = g.generation;
    r.protocol_type = g.protocol_type;
    r.protocol_name = g.protocol_name;
    r.leader = g.leader;
    r.member_id = member_id;
    if (with_members) r.members = current_members(g);
    return r;
}

void update_member(member& m, const join_request& req, std::int64_t now) {
    m.protocols = req.protocols;
    m.session_timeout_ms = req.session_timeout_ms;
    m.rebalance_timeout_ms = req.rebalance_timeout_ms;
    m.client_id = req.client_id;
    m.client_host = req.client_host;
    m.awaiting_join = true;
    m.last_heartbeat_ms = now;
}

void add_member(group_metadata& g, const std::string& member_id, const join_request& req,
                std::int64_t now, const settings& s) {
    member m;
    m.member_id = member_id;
    m.group_instance_id = req.group_instance_id;
    m.is_new = true;
    update_member(m, req, now);
    if (g.current == state::preparing_rebalance && g.initial_rebalance) g.new_member_added = true;
    if (g.members.empty()) g.protocol_type = req.protocol_type;
    if (g.leader.empty()) g.leader = member_id;
    g.members.push_back(std::move(m));
    if (can_rebalance(g)) prepare_rebalance(g, now, s);
}

// A static member that lost its member id (restarted) comes back: it takes over the old
// member's place and assignment; a Stable group whose protocol does not change carries on
// without a rebalance (Kafka's updateStaticMemberThenRebalanceOrCompleteJoin).
join_decision rejoin_static(group_metadata& g, const join_request& req,
                            const std::string& new_member_id, std::int64_t now, const settings& s,
                            join_decision d) {
    const std::string current_leader = g.leader;
    auto* m = g.find_instance(*req.group_instance_id);
    const std::string old_member_id = m->member_id;
    m->member_id = new_member_id;
    if (g.leader == old_member_id) g.leader = new_member_id;
    update_member(*m, req, now);
    d.changed = true;
    d.member_id = new_member_id;

    if (g.current == state::stable) {
        if (g.protocol_name && *g.protocol_name == select_protocol(g)) {
            m->awaiting_join = false;
            const bool is_leader = g.leader == new_member_id;
            if (req.version >= 9) {
                // KIP-814: the leader learns the members but must not reassign.
                d.reply = generation_answer(g, new_member_id, is_leader);
                d.reply->skip_assignment = is_leader;
            } else {
                // Older leaders would reassign a Stable group for nothing: name the old
                // leader id so this member acts as a follower.
                d.reply = generation_answer(g, new_member_id, false);
                d.reply->leader = current_leader;
            }
            return d;
        }
        prepare_rebalance(g, now, s);
    } else if (g.current == state::completing_rebalance) {
        // The leader may have assigned to the old member id: start over.
        prepare_rebalance(g, now, s);
    }
    return d;
}

}  // namespace

// --- JoinGroup -----------------------------------------------------------------------------

join_decision join(group_metadata& g, bool exists, const join_request& req,
                   const std::string& new_member_id, std::int64_t now, const settings& s) {
    join_decision d;
    d.from_generation = g.generation;
    d.member_id = req.member_id;
    auto fail = [&](error_code e, std::string member_id) {
        d.reply = join_response{};
        d.reply->error = e;
        d.reply->member_id = std::move(member_id);
        return d;
    };
    if (req.session_timeout_ms < s.min_session_timeout_ms ||
        req.session_timeout_ms > s.max_session_timeout_ms)
        return fail(error_code::invalid_session_timeout, req.member_id);
    if (!exists && !req.member_id.empty())
        return fail(error_code::unknown_member_id, req.member_id);
    if (g.current == state::dead) return fail(error_code::coordinator_not_available, req.member_id);
    if (!supports_protocols(g, req))
        return fail(error_code::inconsistent_group_protocol, req.member_id);

    if (req.member_id.empty()) {
        if (req.group_instance_id && g.find_instance(*req.group_instance_id))
            return rejoin_static(g, req, new_member_id, now, s, d);
        if (!req.group_instance_id && req.version >= 4) {
            // KIP-394: hand out the id first, so a client that times out and retries does
            // not leave a trail of ghost members behind.
            g.pending.push_back({new_member_id, now + req.session_timeout_ms});
            d.changed = true;
            return fail(error_code::member_id_required, new_member_id);
        }
        add_member(g, new_member_id, req, now, s);
        d.changed = true;
        d.member_id = new_member_id;
        return d;
    }

    if (g.is_pending(req.member_id)) {
        std::erase_if(g.pending,
                      [&](const pending_member& p) { return p.member_id == req.member_id; });
        add_member(g, req.member_id, req, now, s);
        d.changed = true;
        return d;
    }
    if (auto e = validate_member(g, req.member_id, req.group_instance_id); e != error_code::none)
        return fail(e, req.member_id);

    auto* m = g.find(req.member_id);
    switch (g.current) {
        case state::preparing_rebalance:
            update_member(*m, req, now);
            d.changed = true;
            return d;
        case state::completing_rebalance:
            if (m->protocols == req.protocols) {
                // The member lost its JoinGroup answer: give it again.
                d.reply = generation_answer(g, req.member_id, g.leader == req.member_id);
                return d;
            }
            update_member(*m, req, now);
            prepare_rebalance(g, now, s);
            d.changed = true;
            return d;
        case state::stable:
            // A leader rejoining forces a rebalance (it may have seen new topics); a
            // follower with unchanged metadata just gets the current generation.
            if (g.leader != req.member_id && m->protocols == req.protocols) {
                d.reply = generation_answer(g, req.member_id, false);
                return d;
            }
            update_member(*m, req, now);
            prepare_rebalance(g, now, s);
            d.changed = true;
            return d;
        default:
            return fail(error_code::unknown_member_id, req.member_id);
    }
}

std::optional<join_response> join_outcome(const group_metadata& g, bool exists,
                                          std::string_view member_id,
                                          const std::optional<std::string>& group_instance_id,
                                          std::int32_t from_generation) {
    join_response r;
    const member* m = exists ? g.find(member_id) : nullptr;
    if (!m) {
        // Removed while waiting (session expiry, rebalance deadline) or replaced by a newer
        // instance of the same static member.
        if (exists && group_instance_id && g.find_instance(*group_instance_id)) {
            r.error = error_code::fenced_instance_id;
            r.member_id = std::string(member_id);
        } else {
            r.error = error_code::unknown_member_id;
        }
        return r;
    }
    if (g.generation <= from_generation || m->awaiting_join) return std::nullopt;
    return generation_answer(g, m->member_id, g.leader == m->member_id);
}

// --- SyncGroup -----------------------------------------------------------------------------

namespace {

sync_response sync_error(error_code e) {
    sync_response r;
    r.error = e;
    return r;
}

sync_response sync_answer(const group_metadata& g, const member& m) {
    sync_response r;
    r.protocol_type = g.protocol_type;
    r.protocol_name = g.protocol_name;
    r.assignment = m.assignment;
    return r;
}

bool inconsistent(const std::optional<std::string>& asked, const std::optional<std::string>& have) {
    return asked && have && *asked != *have;
}

}  // namespace

sync_decision sync(group_metadata& g, bool exists, const sync_request& req, std::int64_t now) {
    sync_decision d;
    if (!exists) {
        d.reply = sync_error(error_code::unknown_member_id);
        return d;
    }
    if (g.current == state::dead) {
        d.reply = sync_error(error_code::coordinator_not_available);
        return d;
    }
    if (auto e = validate_member(g, req.member_id, req.group_instance_id); e != error_code::none) {
        d.reply = sync_error(e);
        return d;
    }
    if (req.generation != g.generation) {
        d.reply = sync_error(error_code::illegal_generation);
        return d;
    }
    if (inconsistent(req.protocol_type, g.protocol_type) ||
        inconsistent(req.protocol_name, g.protocol_name)) {
        d.reply = sync_error(error_code::inconsistent_group_protocol);
        return d;
    }
    auto* m = g.find(req.member_id);
    switch (g.current) {
        case state::empty:
            d.reply = sync_error(error_code::unknown_member_id);
            return d;
        case state::preparing_rebalance:
            d.reply = sync_error(error_code::rebalance_in_progress);
            return d;
        case state::completing_rebalance: {
            m->pending_sync = false;
            m->last_heartbeat_ms = now;
            d.changed = true;
            if (g.leader == req.member_id) {
                for (auto& x : g.members) {
                    x.assignment.clear();
                    for (const auto& [id, a] : req.assignments)
                        if (id == x.member_id) x.assignment = a;
                }
                g.assigned_generation = g.generation;
                transition(g, state::stable, now);
                d.reply = sync_answer(g, *m);
            }
            break;
        }
        case state::stable:
            if (m->pending_sync) {
                m->pending_sync = false;
                d.changed = true;
            }
            d.reply = sync_answer(g, *m);
            break;
        default:
            d.reply = sync_error(error_code::coordinator_not_available);
            return d;
    }
    if (std::none_of(g.members.begin(), g.members.end(),
                     [](const member& x) { return x.pending_sync; }) &&
        g.sync_deadline_ms != 0) {
        g.sync_deadline_ms = 0;
        d.changed = true;
    }
    return d;
}

std::optional<sync_response> sync_outcome(const group_metadata& g, bool exists,
                                          const sync_request& req) {
    const member* m = exists ? g.find(req.member_id) : nullptr;
    if (!m) {
        if (exists && req.group_instance_id && g.find_instance(*req.group_instance_id))
            return sync_error(error_code::fenced_instance_id);
        return sync_error(error_code::unknown_member_id);
    }
    if (g.generation != req.generation) return sync_error(error_code::rebalance_in_progress);
    // The leader's assignment for this generation is in: hand it out, even if a new
    // rebalance has begun meanwhile (the next heartbeat tells the member about it).
    if (g.assigned_generation == req.generation) return sync_answer(g, *m);
    if (g.current == state::preparing_rebalance)
        return sync_error(error_code::rebalance_in_progress);
    if (g.current != state::completing_rebalance) return sync_error(error_code::unknown_member_id);
    return std::nullopt;
}

// --- Heartbeat, LeaveGroup ---------------------------------------------------------------

heartbeat_decision heartbeat(group_metadata& g, bool exists, std::string_view member_id,
                             const std::optional<std::string>& group_instance_id,
                             std::int32_t generation, std::int64_t now) {
    heartbeat_decision d;
    if (!exists) {
        d.error = error_code::unknown_member_id;
        return d;
    }
    if (g.current == state::dead) {
        d.error = error_code::coordinator_not_available;
        return d;
    }
    if (auto e = validate_member(g, member_id, group_instance_id); e != error_code::none) {
        d.error = e;
        return d;
    }
    if (generation != g.generation) {
        d.error = error_code::illegal_generation;
        return d;
    }
    if (g.current == state::empty) {
        d.error = error_code::unknown_member_id;
        return d;
    }
    g.find(member_id)->last_heartbeat_ms = now;
    d.changed = true;
    if (g.current == state::preparing_rebalance) d.error = error_code::rebalance_in_progress;
    return d;
}

leave_decision leave(group_metadata& g, bool exists, const std::vector<leave_member>& who,
                     std::int64_t now, const settings& s) {
    leave_decision d;
    if (!exists) {
        d.members.assign(who.size(), error_code::unknown_member_id);
        return d;
    }
    if (g.current == state::dead) {
        d.error = error_code::coordinator_not_available;
        return d;
    }
    bool removed = false;
    for (const auto& w : who) {
        if (w.member_id.empty()) {
            // Administrative removal of a static member by its instance id.
            const auto* m = w.group_instance_id ? g.find_instance(*w.group_instance_id) : nullptr;
            if (!m) {
                d.members.push_back(error_code::unknown_member_id);
                continue;
            }
            remove_member(g, std::string(m->member_id));
        } else if (g.is_pending(w.member_id)) {
            std::erase_if(g.pending,
                          [&](const pending_member& p) { return p.member_id == w.member_id; });
            d.changed = true;
        } else if (auto e = validate_member(g, w.member_id, w.group_instance_id);
                   e != error_code::none) {
            d.members.push_back(e);
            continue;
        } else {
            remove_member(g, w.member_id);
        }
        removed = true;
        d.members.push_back(error_code::none);
    }
    if (removed) {
        d.changed = true;
        if (g.current == state::stable || g.current == state::completing_rebalance)
            prepare_rebalance(g, now, s);
    }
    return d;
}

// --- OffsetCommit ---------------------------------------------------------------------------

commit_decision validate_commit(const group_metadata& g, bool exists, std::string_view member_id,
                                const std::optional<std::string>& group_instance_id,
                                std::int32_t generation, std::int16_t version) {
    commit_decision d;
    if (!exists) {
        if (generation < 0) {
            d.create = true;  // a group that is not managed by this coordinator
        } else {
            // A commit from an older incarnation of the group.
            d.error =
                version >= 9 ? error_code::group_id_not_found : error_code::illegal_generation;
        }
        return d;
    }
    if (g.current == state::dead) {
        d.error = error_code::coordinator_not_available;
        return d;
    }
    if (generation < 0 && g.current == state::empty) return d;
    if (generation >= 0 || !member_id.empty() || group_instance_id) {
        if (auto e = validate_member(g, member_id, group_instance_id); e != error_code::none) {
            d.error = e;
            return d;
        }
        if (generation != g.generation) {
            d.error = error_code::illegal_generation;
            return d;
        }
    } else if (g.current != state::empty) {
        d.error = error_code::unknown_member_id;
        return d;
    }
    if (g.current == state::completing_rebalance) d.error = error_code::rebalance_in_progress;
    return d;
}

// --- housekeeping ---------------------------------------------------------------------------

bool tick(group_metadata& g, std::int64_t now, const settings& s) {
    bool changed = false;
    // Each round may enable the next (a removal completes a join phase); a few suffice.
    for (int round = 0; round < 8; ++round) {
        bool step = false;
        auto pending_before = g.pending.size();
        std::erase_if(g.pending, [&](const pending_member& p) { return p.expires_ms <= now; });
        step |= g.pending.size() != pending_before;

        std::vector<std::string> expired;
        for (const auto& m : g.members)
            if (m.last_heartbeat_ms + m.session_timeout_ms <= now) expired.push_back(m.member_id);
        for (const auto& id : expired) remove_member(g, id);
        if (!expired.empty()) {
            step = true;
            if (g.current == state::stable || g.current == state::completing_rebalance)
                prepare_rebalance(g, now, s);
        }

        if (g.current == state::preparing_rebalance) {
            if (g.initial_rebalance) {
                if (now >= g.join_deadline_ms) {
                    if (g.new_member_added && g.initial_remaining_ms > 0) {
                        // Members keep arriving: wait another window (Kafka's
                        // tryCompleteInitialRebalanceElseSchedule).
                        auto next = std::min(s.initial_rebalance_delay_ms, g.initial_remaining_ms);
                        g.initial_remaining_ms =
                            std::max(g.initial_remaining_ms - g.initial_delay_ms, 0);
                        g.initial_delay_ms = next;
                        g.join_deadline_ms += next;
                        g.new_member_added = false;
                    } else {
                        complete_join(g, now);
                    }
                    step = true;
                }
            } else if (all_joined(g) || now >= g.join_deadline_ms) {
                complete_join(g, now);
                step = true;
            }
        }

        if ((g.current == state::completing_rebalance || g.current == state::stable) &&
            g.sync_deadline_ms != 0 && now >= g.sync_deadline_ms) {
            std::vector<std::string> unsynced;
            for (const auto& m : g.members)
                if (m.pending_sync) unsynced.push_back(m.member_id);
            for (const auto& id : unsynced) remove_member(g, id);
            g.sync_deadline_ms = 0;
            if (!unsynced.empty()) prepare_rebalance(g, now, s);
            step = true;
        }
        if (!step) break;
        changed = true;
    }
    return changed;
}

std::int64_t next_deadline(const group_metadata& g) {
    std::int64_t d = INT64_MAX;
    for (const auto& p : g.pending) d = std::min(d, p.expires_ms);
    for (const auto& m : g.members) d = std::min(d, m.last_heartbeat_ms + m.session_timeout_ms);
    if (g.current == state::preparing_rebalance) d = std::min(d, g.join_deadline_ms);
    if ((g.current == state::completing_rebalance || g.current == state::stable) &&
        g.sync_deadline_ms != 0)
        d = std::min(d, g.sync_deadline_ms);
    return d;
}

std::string select_protocol(const group_metadata& g) {
    if (g.members.empty()) return {};
    std::vector<std::string> candidates;
    for (const auto& p : g.members.front().protocols) {
        bool everyone = std::all_of(g.members.begin(), g.members.end(), [&](const member& m) {
            return m.find_protocol(p.name) != nullptr;
        });
        if (everyone) candidates.push_back(p.name);
    }
    if (candidates.empty()) return {};
    std::map<std::string, int> votes;
    for (const auto& m : g.members) {
        for (const auto& p : m.protocols) {
            if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
                ++votes[p.name];
                break;
            }
        }
    }
    std::string best = candidates.front();
    for (const auto& c : candidates)
        if (votes[c] > votes[best]) best = c;
    return best;
}

bool offset_expired(const group_metadata& g, const std::optional<std::set<std::string>>& subscribed,
                    std::string_view topic, std::int64_t commit_timestamp_ms, std::int64_t now,
                    std::int64_t retention_ms) {
    if (!g.protocol_type) return commit_timestamp_ms + retention_ms <= now;
    if (g.current == state::empty) return g.state_timestamp_ms + retention_ms <= now;
    if (g.current == state::stable && g.protocol_type == consumer_protocol_type && subscribed &&
        !subscribed->count(std::string(topic)))
        return commit_timestamp_ms + retention_ms <= now;
    return false;
}

std::optional<std::vector<std::string>> consumer_subscription_topics(std::string_view metadata) {
    try {
        protocol::reader r(metadata);
        if (r.read_i16() < 0) return std::nullopt;
        auto n = r.read_array_count(false);
        std::vector<std::string> topics;
        for (std::int32_t i = 0; i < n; ++i) topics.push_back(r.read_string(false));
        return topics;
    } catch (const protocol::decode_error&) {
        return std::nullopt;
    }
}

std::optional<std::set<std::string>> subscribed_topics(const group_metadata& g) {
    if (g.protocol_type != consumer_protocol_type) return std::nullopt;
    std::set<std::string> out;
    for (const auto& m : g.members) {
        const member_protocol* p = nullptr;
        if (g.protocol_name) p = m.find_protocol(*g.protocol_name);
        if (!p && !m.protocols.empty()) p = &m.protocols.front();
        if (!p) return std::nullopt;
        auto topics = consumer_subscription_topics(p->metadata);
        if (!topics) return std::nullopt;
        out.insert(topics->begin(), topics->end());
    }
    return out;
}

}  // namespace hako::broker::group
