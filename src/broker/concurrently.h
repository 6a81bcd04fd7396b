#pragma once
// Awaits several operations at once and returns their results in the order given.
//
// Why: a Produce request names many partitions, and against remote storage each
// partition's append is a few round trips; awaited one after another, a request costs
// the sum of them. Started together, it costs about the slowest, and partitions of one
// request share the storage's coalescing (one SQLite commit, concurrent COPYs).
//
// The operations are started in the order given (co_spawn posts them FIFO, and each runs
// to its first suspension before the next starts), so appends that queue per partition
// keep the request's order. The operations must not throw (a thrown exception is rethrown
// here after all have finished, so nothing they reference is released early).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace hako::broker {

// `started`, when given, runs once every operation has run up to its first suspension.
template <class T>
boost::asio::awaitable<std::vector<T>> concurrently(std::vector<boost::asio::awaitable<T>> ops,
                                                    std::function<void()> started = {}) {
    namespace asio = boost::asio;
    auto ex = co_await asio::this_coro::executor;
    struct state {
        explicit state(asio::any_io_executor e, std::size_t n) : done(e), results(n), left(n) {}
        asio::steady_timer done;
        std::vector<std::optional<T>> results;
        std::size_t left;
        std::exception_ptr error;
    };
    auto st = std::make_shared<state>(ex, ops.size());
    st->done.expires_at(asio::steady_timer::time_point::max());
    for (std::size_t i = 0; i < ops.size(); ++i) {
        asio::co_spawn(ex, std::move(ops[i]), [st, i](std::exception_ptr e, T v) {
            if (e && !st->error) st->error = e;
            if (!e) st->results[i] = std::move(v);
            if (--st->left == 0) st->done.cancel();
        });
    }
    if (started) {
        // co_spawn posts each start; this post comes after them (FIFO, one thread).
        auto yield = asio::post(ex, asio::use_awaitable);
        co_await std::move(yield);
        started();
    }
    // One thread runs the broker's executor, so no completion slips between the check and
    // the wait; a completion after the wait started cancels the timer and wakes us.
    while (st->left > 0) {
        boost::system::error_code ec;
        co_await st->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (st->error) std::rethrow_exception(st->error);
    std::vector<T> out;
    out.reserve(st->results.size());
    for (auto& r : st->results) out.push_back(std::move(*r));
    co_return out;
}

}  // namespace hako::broker
