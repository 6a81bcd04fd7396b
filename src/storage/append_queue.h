#pragma once
// Coalescing of appends to one partition, shared by the engines whose append is a round
// trip to a server (postgres://, s3://): while one flush of a partition is in flight,
// later appends to it (from any connection) queue; when it ends, the first of them
// flushes everything queued, up to a byte cap, as one transaction or one object. No
// append waits for a timer unless the engine asks for a linger.
//
// Threading: the broker's executor only (no locks). An engine owns one append_queues.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace hako::storage {

struct pending_append {
    pending_append(append_request r, boost::asio::any_io_executor ex)
        : req(std::move(r)), wake(ex, boost::asio::steady_timer::time_point::max()) {}
    append_request req;
    append_result result;  // set by the flush
    std::exception_ptr error;
    bool done = false;
    bool leader = false;  // woken to flush the appends queued behind the last flush
    boost::asio::steady_timer wake;
};

using append_group = std::vector<std::shared_ptr<pending_append>>;

struct coalesce_limits {
    std::chrono::milliseconds linger{0};      // an idle partition waits this long first
    std::size_t max_bytes = SIZE_MAX;         // batch bytes per flush (one batch may exceed)
};

class append_queues {
public:
    // Queues `req` on `key`'s partition and returns its result once a flush (run by this
    // coroutine or another) has decided it. `flush` sets every member's result or throws
    // (then every member of its group gets the exception). `appended` runs after a flush
    // that appended anything.
    boost::asio::awaitable<append_result> append(
        std::pair<std::string, std::int32_t> key, append_request req,
        boost::asio::any_io_executor ex, coalesce_limits limits,
        std::function<boost::asio::awaitable<void>(append_group&)> flush,
        std::function<void()> appended) {
        namespace asio = boost::asio;
        auto& slot = queues_[key];
        if (!slot) slot = std::make_unique<part_queue>();
        auto& q = *slot;  // never erased: the reference stays valid across suspensions
        auto me = std::make_shared<pending_append>(std::move(req), ex);
        q.waiting.push_back(me);
        if (q.busy) {
            while (!me->done && !me->leader) {
                boost::system::error_code ec;
                auto op = me->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                co_await std::move(op);
            }
        } else if (limits.linger.count() > 0) {
            q.busy = true;  // others queue behind us while we linger
            asio::steady_timer t(ex, limits.linger);
            boost::system::error_code ec;
            auto op = t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            co_await std::move(op);
        }
        if (!me->done) {
            q.busy = true;
            append_group group;
            std::size_t bytes = 0;
            while (!q.waiting.empty() &&
                   (group.empty() || bytes + q.waiting.front()->req.batch.size() <= limits.max_bytes)) {
                bytes += q.waiting.front()->req.batch.size();
                group.push_back(q.waiting.front());
                q.waiting.erase(q.waiting.begin());
            }
            try {
                auto op = flush(group);
                co_await std::move(op);
            } catch (...) {
                for (auto& p : group) p->error = std::current_exception();
            }
            bool any = false;
            for (auto& p : group) {
                p->done = true;
                if (!p->error && p->result.error == protocol::error_code::none) any = true;
                if (p != me) p->wake.cancel();
            }
            if (!q.waiting.empty()) {
                q.waiting.front()->leader = true;
                q.waiting.front()->wake.cancel();
            } else {
                q.busy = false;
            }
            if (any && appended) appended();
        }
        if (me->error) std::rethrow_exception(me->error);
        co_return me->result;
    }

private:
    struct part_queue {
        std::vector<std::shared_ptr<pending_append>> waiting;
        bool busy = false;
    };
    std::map<std::pair<std::string, std::int32_t>, std::unique_ptr<part_queue>> queues_;
};

}  // namespace hako::storage
