#include "broker/group/wakeups.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hako::broker::group {

namespace asio = boost::asio;

namespace {
// Group ids seen since the last reset; beyond this the table starts over (a new epoch
// invalidates every outstanding token, which costs those waiters one extra read).
constexpr std::size_t max_tracked_groups = 4096;
}  // namespace

wakeups::token wakeups::current(const std::string& group_id) const {
    auto it = seq_.find(group_id);
    return {epoch_, it == seq_.end() ? 0 : it->second};
}

asio::awaitable<void> wakeups::wait(const std::string& group_id, token seen,
                                    std::chrono::steady_clock::time_point until) {
    auto now = current(group_id);
    if (now.epoch != seen.epoch || now.seq != seen.seq) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor, until);
    auto it = waiters_.insert(waiters_.end(), waiter{group_id, &timer});
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiters_.erase(it);
}

void wakeups::notify(const std::string& group_id) {
    if (seq_.size() >= max_tracked_groups && !seq_.count(group_id)) {
        seq_.clear();
        ++epoch_;
    }
    ++seq_[group_id];
    for (auto& w : waiters_)
        if (w.group_id == group_id) w.timer->cancel();
}

void wakeups::notify_all() {
    ++epoch_;
    for (auto& w : waiters_) w.timer->cancel();
}

}  // namespace hako::broker::group
