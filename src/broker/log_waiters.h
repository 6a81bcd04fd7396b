#pragma once
// Long-polling fetches wait here until a produce touches one of their partitions or their
// max_wait runs out. Waking is a hint: the fetch re-reads storage, which is the truth.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace hako::broker {

class log_waiters {
public:
    using partition_key = std::pair<std::string, std::int32_t>;

    // How many changes `keys` have seen: taken before a fetch reads storage, so that a
    // produce landing while the read is in flight is not missed by the wait after it.
    std::uint64_t changes(const std::set<partition_key>& keys) const;

    // Waits until `deadline` or until one of `keys` changes. Returns true when woken by a
    // change, at once if they changed since `changes(keys)` was `seen`.
    boost::asio::awaitable<bool> wait(const std::set<partition_key>& keys,
                                      std::chrono::steady_clock::time_point deadline,
                                      std::uint64_t seen);

    // Wakes every fetch waiting on (topic, partition).
    void notify(const std::string& topic, std::int32_t partition);

    // Wakes everyone (shutdown).
    void notify_all();

private:
    struct waiter {
        const std::set<partition_key>* keys;
        boost::asio::steady_timer* timer;
        bool woken = false;
    };
    std::list<waiter> waiters_;
    std::map<partition_key, std::uint64_t> changes_;  // per partition produced to
};

}  // namespace hako::broker
