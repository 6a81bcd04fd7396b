#pragma once
// Runs every SQLite call on one dedicated thread so the broker's event loop never blocks
// on disk. Write jobs that arrive while the thread is busy are committed together in one
// transaction (group commit): each job runs inside its own SAVEPOINT, so one failing job
// does not undo the others, and every caller resumes only after the COMMIT that made its
// change durable.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "storage/sqlite/sqlite_db.h"

namespace hako::storage::sqlite {

struct open_options {
    std::string path;
    int busy_timeout_ms = 10000;
    std::string synchronous = "FULL";  // durable acks; NORMAL trades that for speed
    std::size_t max_batch = 512;       // jobs per group-commit transaction
    // Bytes of produced batches per group commit. Large jobs gain nothing from sharing a
    // commit, and grouping them costs the overlap between the broker thread (decoding the
    // next request) and this one: each connection has one request in flight at a time.
    std::size_t max_batch_bytes = 1 << 20;
};

class worker {
public:
    // Opens the database on the worker thread and runs `init` (schema migration) there;
    // throws what `init` or the open threw.
    worker(open_options opts, std::function<void(db&)> init);
    ~worker();

    // Callers: build the awaitable in its own statement (`auto op = w.write<T>(...);
    // co_await std::move(op);`). g++ 12 destroys a lambda temporary that appears inside a
    // co_await expression twice.
    //
    // Runs fn(db) on the worker thread. Writes are grouped into one IMMEDIATE
    // transaction; reads run outside any explicit transaction.
    // `bytes`: the size of the data the job writes, for max_batch_bytes.
    template <class T>
    boost::asio::awaitable<T> write(std::function<T(db&)> fn, std::size_t bytes = 0) {
        return submit<T>(true, std::move(fn), bytes);
    }
    template <class T>
    boost::asio::awaitable<T> read(std::function<T(db&)> fn) {
        return submit<T>(false, std::move(fn));
    }

    // Stats for benchmarks: transactions committed and write jobs they carried.
    std::uint64_t commits() const { return commits_; }
    std::uint64_t write_jobs() const { return write_jobs_; }

private:
    struct job {
        bool write;
        std::size_t bytes;
        std::function<bool(db&)> run;                // stores the result; false if it threw
        std::function<void(std::exception_ptr)> fail;  // overrides the result with an error
        std::function<void()> complete;              // posts the completion
    };

    template <class T>
    boost::asio::awaitable<T> submit(bool is_write, std::function<T(db&)> fn,
                                     std::size_t bytes = 0) {
        struct state {
            std::optional<T> result;
            std::exception_ptr error;
        };
        auto st = std::make_shared<state>();
        auto initiation = [this, is_write, bytes, st, fn = std::move(fn)](auto handler) mutable {
            // A tracked executor counts the job as outstanding work, so io_context::run()
            // cannot return (e.g. at shutdown) while the job is still on the worker thread.
            auto ex = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                          boost::asio::execution::outstanding_work.tracked);
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            enqueue(job{is_write, bytes,
                        [st, fn = std::move(fn)](db& d) {
                            try {
                                st->result.emplace(fn(d));
                                return true;
                            } catch (...) {
                                st->error = std::current_exception();
                                return false;
                            }
                        },
                        [st](std::exception_ptr e) { st->error = std::move(e); },
                        [ex, h]() { boost::asio::post(ex, [h]() mutable { (*h)(); }); }});
        };
        auto op = boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void()>(
            std::move(initiation), boost::asio::use_awaitable);
        co_await std::move(op);
        if (st->error) std::rethrow_exception(st->error);
        co_return std::move(*st->result);
    }

    void enqueue(job j);
    void loop();
    void run_batch(std::deque<job>& batch);

    open_options opts_;
    std::unique_ptr<db> db_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<job> queue_;
    bool stop_ = false;
    std::thread thread_;
    std::uint64_t commits_ = 0;
    std::uint64_t write_jobs_ = 0;
};

}  // namespace hako::storage::sqlite
