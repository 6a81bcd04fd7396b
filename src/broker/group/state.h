#pragma once
// A classic consumer group's coordinator state: what Kafka keeps in its __consumer_offsets
// group records plus the soft state it keeps in timers (deadlines, join/sync flags), so any
// broker can load it from storage and carry on the protocol. Stored as one opaque blob
// (storage::engine::store_group, compare-and-swap); `encode`/`decode` own the format.
//
// Plain values: no locking, no I/O. Times are wall-clock milliseconds since the epoch,
// because several brokers compare them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hako::broker::group {

enum class state : std::int8_t {
    empty = 0,
    preparing_rebalance = 1,
    completing_rebalance = 2,
    stable = 3,
    dead = 4,
};

// Kafka's names, as DescribeGroups and ListGroups report them.
std::string_view state_name(state s);
std::optional<state> parse_state(std::string_view name);  // case-insensitive

struct member_protocol {
    std::string name;
    std::string metadata;
    bool operator==(const member_protocol&) const = default;
};

struct member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    std::int32_t session_timeout_ms = 0;
    std::int32_t rebalance_timeout_ms = 0;
    std::vector<member_protocol> protocols;  // in the member's order of preference
    std::string assignment;
    std::int64_t last_heartbeat_ms = 0;
    bool awaiting_join = false;  // rejoined during the current PreparingRebalance
    bool pending_sync = false;   // got its JoinGroup answer, has not sent SyncGroup yet
    bool is_new = false;         // joined for the first time in the current rebalance

    const member_protocol* find_protocol(std::string_view name) const;
    bool operator==(const member&) const = default;
};

// A dynamic member that was told MEMBER_ID_REQUIRED and has not joined with its id yet.
struct pending_member {
    std::string member_id;
    std::int64_t expires_ms = 0;
    bool operator==(const pending_member&) const = default;
};

struct group_metadata {
    state current = state::empty;
    std::int32_t generation = 0;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    std::string leader;                   // empty: no leader
    std::int64_t state_timestamp_ms = 0;  // when `current` last changed
    // PreparingRebalance: the join phase ends at the latest at join_deadline_ms. During the
    // initial rebalance of an empty group (group.initial.rebalance.delay.ms) it ends exactly
    // then, extended while new members keep arriving.
    std::int64_t join_deadline_ms = 0;
    bool initial_rebalance = false;
    bool new_member_added = false;
    std::int32_t initial_delay_ms = 0;      // length of the current delay window
    std::int32_t initial_remaining_ms = 0;  // rebalance timeout left for more windows
    // CompletingRebalance/Stable: members still pending sync are removed at this time.
    std::int64_t sync_deadline_ms = 0;
    // Generation whose leader assignment is in the members (SyncGroup followers may read
    // it even after the group moved on to a new PreparingRebalance).
    std::int32_t assigned_generation = -1;
    std::vector<member> members;  // in join order
    std::vector<pending_member> pending;

    member* find(std::string_view member_id);
    const member* find(std::string_view member_id) const;
    member* find_instance(std::string_view group_instance_id);
    const member* find_instance(std::string_view group_instance_id) const;
    bool is_pending(std::string_view member_id) const;
    bool operator==(const group_metadata&) const = default;
};

// The blob: a format byte (1) then the fields, written with protocol::writer.
std::string encode(const group_metadata& g);
// Throws protocol::decode_error on a truncated blob or an unknown format byte.
group_metadata decode(std::string_view blob);

}  // namespace hako::broker::group
