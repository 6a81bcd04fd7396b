#pragma once
// The classic group protocol as pure functions over group_metadata: each takes the state
// loaded from storage and the current time, changes the state in place and says what to
// answer. The coordinator stores the result by compare-and-swap and retries the whole
// step on a conflict, so nothing here may have side effects beyond its arguments.
//
// Follows Kafka's classic group coordinator (GroupMetadataManager / ClassicGroup): the
// MEMBER_ID_REQUIRED two-step join (v4+), the initial rebalance delay, rebalance and
// session timeouts, pending-sync expiry, static membership, leader election and protocol
// selection. Kafka's timers become deadlines in the state that `tick` acts on.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/group/settings.h"
#include "broker/group/state.h"
#include "protocol/error_code.h"

namespace hako::broker::group {

using protocol::error_code;

// --- JoinGroup -----------------------------------------------------------------------------

struct join_request {
    std::string member_id;  // empty: unknown member
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    std::int32_t session_timeout_ms = 0;
    std::int32_t rebalance_timeout_ms = 0;
    std::string protocol_type;
    std::vector<member_protocol> protocols;
    std::int16_t version = 0;  // v4+: MEMBER_ID_REQUIRED; v9+: skip_assignment
};

struct join_member_info {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string metadata;
};

struct join_response {
    error_code error = error_code::none;
    std::int32_t generation = -1;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    std::string leader;
    bool skip_assignment = false;
    std::string member_id;
    std::vector<join_member_info> members;  // only the leader gets them
};

// What one JoinGroup did: answered at once (`reply`), or parked until the join phase that
// started before generation `from_generation` completes (then `join_outcome` answers).
struct join_decision {
    bool changed = false;
    std::optional<join_response> reply;
    std::string member_id;
    std::int32_t from_generation = 0;
};

// `exists`: the group was in storage (else `g` is a fresh Empty group). `new_member_id` is
// used if the request creates a member id (client id or instance id + "-" + a UUID).
join_decision join(group_metadata& g, bool exists, const join_request& req,
                   const std::string& new_member_id, std::int64_t now, const settings& s);

// The answer for a parked JoinGroup, or nullopt while it still waits.
std::optional<join_response> join_outcome(const group_metadata& g, bool exists,
                                          std::string_view member_id,
                                          const std::optional<std::string>& group_instance_id,
                                          std::int32_t from_generation);

// --- SyncGroup -----------------------------------------------------------------------------

struct sync_request {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::int32_t generation = -1;
    std::optional<std::string> protocol_type;                      // v5+
    std::optional<std::string> protocol_name;                      // v5+
    std::vector<std::pair<std::string, std::string>> assignments;  // leader only
};

struct sync_response {
    error_code error = error_code::none;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    std::string assignment;
};

// No reply: a follower parked until the leader's assignment arrives (`sync_outcome`).
struct sync_decision {
    bool changed = false;
    std::optional<sync_response> reply;
};

sync_decision sync(group_metadata& g, bool exists, const sync_request& req, std::int64_t now);

std::optional<sync_response> sync_outcome(const group_metadata& g, bool exists,
                                          const sync_request& req);

// --- Heartbeat, LeaveGroup ---------------------------------------------------------------

struct heartbeat_decision {
    bool changed = false;
    error_code error = error_code::none;
};

heartbeat_decision heartbeat(group_metadata& g, bool exists, std::string_view member_id,
                             const std::optional<std::string>& group_instance_id,
                             std::int32_t generation, std::int64_t now);

struct leave_member {
    std::string member_id;  // empty: leave by group_instance_id (admin removal)
    std::optional<std::string> group_instance_id;
};

struct leave_decision {
    bool changed = false;
    error_code error = error_code::none;  // group-level
    std::vector<error_code> members;      // one per requested member
};

leave_decision leave(group_metadata& g, bool exists, const std::vector<leave_member>& who,
                     std::int64_t now, const settings& s);

// --- OffsetCommit ---------------------------------------------------------------------------

// May this commit go in? A commit with generation < 0 and no member id (admin tools, a
// consumer without group management) is accepted only while the group has no members; the
// coordinator creates an Empty group for it if there is none (`create` is set).
struct commit_decision {
    error_code error = error_code::none;
    bool create = false;
};

commit_decision validate_commit(const group_metadata& g, bool exists, std::string_view member_id,
                                const std::optional<std::string>& group_instance_id,
                                std::int32_t generation, std::int16_t version);

// --- housekeeping ---------------------------------------------------------------------------

// Kafka's timers, acted on from the stored deadlines: drop pending and regular members whose
// session ran out, end the join phase when every member rejoined (or at its deadline, or
// when the initial delay ran out), drop members that never sent SyncGroup. Any broker that
// touches the group runs this first; the sweep runs it for groups nobody touches.
bool tick(group_metadata& g, std::int64_t now, const settings& s);

// Earliest time at which `tick` could change something (INT64_MAX: never on its own).
std::int64_t next_deadline(const group_metadata& g);

// The protocol every member supports that most members prefer (Kafka's selectProtocol).
std::string select_protocol(const group_metadata& g);

// Topics the members subscribe to, from their ConsumerProtocolSubscription metadata;
// nullopt when the group is not a "consumer" group or a subscription cannot be read.
std::optional<std::set<std::string>> subscribed_topics(const group_metadata& g);

// offsets.retention (Kafka's offsetExpirationCondition): does a committed offset of `topic`,
// committed at `commit_timestamp_ms`, expire now? Offsets of a group with a protocol
// expire `retention_ms` after the group became Empty (all at once); a Stable consumer group
// loses only offsets of topics it no longer subscribes to; groups without a protocol
// (simple commits) lose each offset `retention_ms` after its commit. `subscribed` is
// subscribed_topics(g).
bool offset_expired(const group_metadata& g, const std::optional<std::set<std::string>>& subscribed,
                    std::string_view topic, std::int64_t commit_timestamp_ms, std::int64_t now,
                    std::int64_t retention_ms);

// The topics of one ConsumerProtocolSubscription (any version: they all start with
// version int16, topics []string); nullopt when the bytes are not one.
std::optional<std::vector<std::string>> consumer_subscription_topics(std::string_view metadata);

}  // namespace hako::broker::group
