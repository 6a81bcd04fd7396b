#pragma once
// Parked JoinGroup/SyncGroup requests wait here for a change to their group made on this
// broker. Waking is only a hint to re-read storage (the truth); changes made by other
// brokers are seen by polling. A token taken before reading storage closes the gap between
// the read and the wait: a change noted in between ends the wait at once.
//
// Threading: the broker's single io_context thread.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

namespace hako::broker::group {

class wakeups {
  public:
    struct token {
        std::uint64_t epoch = 0;
        std::uint64_t seq = 0;
    };

    token current(const std::string& group_id) const;

    // Returns at `until`, on a change to `group_id` after `seen` was taken, or on
    // notify_all.
    boost::asio::awaitable<void> wait(const std::string& group_id, token seen,
                                      std::chrono::steady_clock::time_point until);

    void notify(const std::string& group_id);
    void notify_all();

  private:
    struct waiter {
        std::string group_id;
        boost::asio::steady_timer* timer;
    };
    std::uint64_t epoch_ = 0;
    std::unordered_map<std::string, std::uint64_t> seq_;  // cleared (epoch_++) when large
    std::list<waiter> waiters_;
};

}  // namespace hako::broker::group
