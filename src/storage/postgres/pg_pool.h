#pragma once
// A bounded pool of asynchronous connections. acquire() hands out an idle connection,
// opens a new one while fewer than `max` exist, or waits for a release. A failed connect
// backs off exponentially (100 ms doubling to 5 s); callers that asked during the outage
// keep retrying for up to `unavailable_after` and then get pg_error, which the broker
// turns into a retriable error for the client. Broken connections are dropped on release.

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "storage/postgres/pg_conn.h"

namespace hako::storage::postgres {

class pool {
public:
    pool(boost::asio::any_io_executor ex, std::string conninfo, std::string setup,
         std::size_t max);
    ~pool();

    class lease {
    public:
        lease(pool* p, std::unique_ptr<connection> c) : pool_(p), conn_(std::move(c)) {}
        lease(lease&& o) noexcept = default;
        lease& operator=(lease&&) = delete;
        ~lease() {
            if (conn_) pool_->release(std::move(conn_));
        }
        connection* operator->() { return conn_.get(); }
        connection& operator*() { return *conn_; }

    private:
        pool* pool_;
        std::unique_ptr<connection> conn_;
    };

    awaitable<lease> acquire();

    std::chrono::milliseconds unavailable_after{3000};

private:
    void release(std::unique_ptr<connection> c);
    awaitable<void> sleep(std::chrono::steady_clock::duration d);

    boost::asio::any_io_executor ex_;
    std::string conninfo_;
    std::string setup_;
    std::size_t max_;
    std::size_t open_ = 0;  // connections that exist or are being opened
    std::vector<std::unique_ptr<connection>> idle_;
    struct waiter {
        boost::asio::steady_timer* timer;
        bool woken = false;
    };
    std::list<waiter*> waiters_;
    std::chrono::milliseconds backoff_{0};
    std::chrono::steady_clock::time_point next_attempt_{};
};

}  // namespace hako::storage::postgres
