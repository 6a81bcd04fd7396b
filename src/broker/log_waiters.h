#pragma once
// Long-polling fetches wait here until a produce touches one of their partitions or their
// max_wait runs out. Waking is a hint: the fetch re-reads storage, which is the truth.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <set>
#include <string>
#include <utility>

namespace hako::broker {

class log_waiters {
public:
    using partition_key = std::pair<std::string, std::int32_t>;

    // Waits until `deadline` or until one of `keys` changes. Returns true when woken by a
    // change.
    boost::asio::awaitable<bool> wait(const std::set<partition_key>& keys,
                                      std::chrono::steady_clock::time_point deadline);

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
};

}  // namespace hako::broker
