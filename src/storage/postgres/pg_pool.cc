// Bounded connection pool with reconnect backoff (pg_pool.h).
#include "storage/postgres/pg_pool.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hako::storage::postgres {

namespace asio = boost::asio;
using std::chrono::milliseconds;

pool::pool(asio::any_io_executor ex, std::string conninfo, std::string setup, std::size_t max)
    : ex_(std::move(ex)), conninfo_(std::move(conninfo)), setup_(std::move(setup)),
      max_(std::max<std::size_t>(max, 1)) {}

pool::~pool() = default;

awaitable<void> pool::sleep(std::chrono::steady_clock::duration d) {
    asio::steady_timer t(ex_, d);
    boost::system::error_code ec;
    auto op = t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_await std::move(op);
}

awaitable<pool::lease> pool::acquire() {
    auto give_up = std::chrono::steady_clock::now() + unavailable_after;
    std::string last_error = "connection pool exhausted";
    for (;;) {
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            co_return lease(this, std::move(c));
        }
        auto now = std::chrono::steady_clock::now();
        if (open_ < max_ && now >= next_attempt_) {
            ++open_;
            try {
                auto op = connection::open(ex_, conninfo_, setup_);
                auto c = co_await std::move(op);
                backoff_ = milliseconds(0);
                co_return lease(this, std::move(c));
            } catch (const std::exception& e) {
                --open_;
                last_error = e.what();
                backoff_ = std::min(milliseconds(5000), std::max(milliseconds(100), backoff_ * 2));
                next_attempt_ = std::chrono::steady_clock::now() + backoff_;
            }
            continue;
        }
        if (now >= give_up) throw pg_error("postgres unavailable: " + last_error);
        if (open_ < max_) {  // backing off: wait for the next attempt (or give up)
            co_await sleep(std::min(next_attempt_, give_up) - now);
            continue;
        }
        // Every connection is busy: wait for a release (or the deadline).
        asio::steady_timer t(ex_, give_up - now);
        waiter w{&t};
        waiters_.push_back(&w);
        auto it = std::prev(waiters_.end());
        boost::system::error_code ec;
        auto op = t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        co_await std::move(op);
        if (!w.woken) waiters_.erase(it);  // timed out: still queued
    }
}

void pool::release(std::unique_ptr<connection> c) {
    if (c->healthy() && c->idle_in_no_transaction()) {
        idle_.push_back(std::move(c));
    } else {
        c.reset();  // PQfinish: the server rolls back what was open
        --open_;
    }
    if (!waiters_.empty()) {
        auto* w = waiters_.front();
        waiters_.pop_front();
        w->woken = true;
        w->timer->cancel();
    }
}

}  // namespace hako::storage::postgres
