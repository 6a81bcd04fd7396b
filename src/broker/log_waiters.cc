#include "broker/log_waiters.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hako::broker {

namespace asio = boost::asio;

std::uint64_t log_waiters::changes(const std::set<partition_key>& keys) const {
    std::uint64_t n = 0;
    for (const auto& k : keys)
        if (auto it = changes_.find(k); it != changes_.end()) n += it->second;
    return n;
}

asio::awaitable<bool> log_waiters::wait(const std::set<partition_key>& keys,
                                        std::chrono::steady_clock::time_point deadline,
                                        std::uint64_t seen) {
    if (changes(keys) != seen) co_return true;
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    auto it = waiters_.insert(waiters_.end(), waiter{&keys, &timer});
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    bool woken = it->woken;
    waiters_.erase(it);
    co_return woken;
}

void log_waiters::notify(const std::string& topic, std::int32_t partition) {
    partition_key k{topic, partition};
    ++changes_[k];
    if (waiters_.empty()) return;
    for (auto& w : waiters_) {
        if (!w.woken && w.keys->count(k)) {
            w.woken = true;
            w.timer->cancel();
        }
    }
}

void log_waiters::notify_all() {
    for (auto& w : waiters_) {
        w.woken = true;
        w.timer->cancel();
    }
}

}  // namespace hako::broker
