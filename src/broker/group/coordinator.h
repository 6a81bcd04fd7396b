#pragma once
// The group coordinator: the door the group handlers use. It keeps no group in memory.
// Every operation loads the group's blob from storage, runs the state machine
// (machine.h) with the current time, and stores the result by compare-and-swap; a
// conflict (another request or another broker stored in between) reloads and redoes the
// step. So any broker can coordinate any group, and timers are deadlines in the state that
// whichever broker touches the group next acts on, plus a sweep (`run`) for groups nobody
// touches.
//
// A JoinGroup waiting for the other members, or a SyncGroup follower waiting for the
// leader, parks: it re-reads storage when this broker changes the group (wakeups.h), at
// the group's next deadline, and at a short poll interval for changes by other brokers.
// While parked it keeps its member's session alive (as Kafka does for a member with a
// JoinGroup or SyncGroup in flight); if this broker dies, the session runs out.
//
// Threading: one io_context thread; all methods are coroutines on it. The public ones take
// their arguments by value, so an awaitable may outlive the caller's temporaries.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/group/machine.h"
#include "broker/group/settings.h"
#include "broker/group/state.h"
#include "broker/group/wakeups.h"
#include "storage/storage.h"

namespace hako::broker::group {

using boost::asio::awaitable;

struct member_description {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    std::string metadata;    // Stable groups only (as Kafka)
    std::string assignment;  // Stable groups only
};

struct group_description {
    error_code error = error_code::none;
    bool exists = false;
    state current = state::dead;
    std::string protocol_type;
    std::string protocol_name;  // Stable groups only
    std::vector<member_description> members;
};

struct group_listing {
    std::string group_id;
    std::string protocol_type;
    state current = state::empty;
};

// What OffsetDelete may remove: everything (an Empty group), or the offsets of topics no
// member subscribes to (`subscribed`; nullopt when the subscriptions cannot be read, which
// protects every topic).
struct offset_delete_scope {
    error_code error = error_code::none;
    bool everything = false;
    std::optional<std::set<std::string>> subscribed;
};

class coordinator {
  public:
    coordinator(storage::engine& store, settings s, boost::asio::any_io_executor ex);

    const settings& config() const { return settings_; }

    awaitable<join_response> join(std::string group_id, join_request req);
    awaitable<sync_response> sync(std::string group_id, sync_request req);
    awaitable<error_code> heartbeat(std::string group_id, std::string member_id,
                                    std::optional<std::string> group_instance_id,
                                    std::int32_t generation);
    awaitable<leave_decision> leave(std::string group_id, std::vector<leave_member> who);

    // OffsetCommit: may this member commit? Creates an Empty group for a commit made
    // without group management (generation < 0) when there is none, so the group can be
    // listed, described, deleted and expired.
    awaitable<error_code> authorize_commit(std::string group_id, std::string member_id,
                                           std::optional<std::string> group_instance_id,
                                           std::int32_t generation, std::int16_t version);

    awaitable<group_description> describe(std::string group_id);
    awaitable<std::vector<group_listing>> list();
    // DeleteGroups: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, or gone with its offsets.
    awaitable<error_code> remove(std::string group_id);
    awaitable<offset_delete_scope> offset_delete_scope_of(std::string group_id);

    // Background work until stop(): expire silent members (every sweep_interval_ms) and
    // apply offsets.retention (every offsets_retention_check_interval_ms).
    awaitable<void> run();
    // Ends run() and answers every parked request (NOT_COORDINATOR: the client finds the
    // coordinator again and rejoins; its membership stays in storage).
    void stop();

  private:
    struct loaded {
        group_metadata g;
        bool exists = false;
        std::int64_t version = 0;
    };
    awaitable<loaded> load(const std::string& group_id);
    // CAS; notifies local waiters on success.
    awaitable<bool> store(const std::string& group_id, const group_metadata& g,
                          std::int64_t version);
    // Housekeeping shared by the parked loops: tick and keep the member alive.
    bool refresh(group_metadata& g, const std::string& member_id, std::int64_t now);
    awaitable<void> park(const std::string& group_id, wakeups::token seen, const group_metadata& g,
                         const std::string& member_id, std::int64_t now);
    awaitable<join_response> await_join(const std::string& group_id, const std::string& member_id,
                                        const std::optional<std::string>& group_instance_id,
                                        std::int32_t from_generation);
    awaitable<sync_response> await_sync(const std::string& group_id, const sync_request& req);
    awaitable<void> sweep(std::int64_t now);
    awaitable<void> expire_offsets(std::int64_t now);

    storage::engine& store_;
    settings settings_;
    boost::asio::any_io_executor ex_;
    wakeups wakeups_;
    boost::asio::steady_timer sweep_timer_;
    bool stopping_ = false;
};

// "<client id or group instance id>-<random UUID>", as Kafka names members.
std::string make_member_id(const std::string& client_id,
                           const std::optional<std::string>& group_instance_id);

}  // namespace hako::broker::group
