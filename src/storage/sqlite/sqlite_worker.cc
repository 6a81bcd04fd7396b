#include "storage/sqlite/sqlite_worker.h"

#include <future>

namespace hako::storage::sqlite {

worker::worker(open_options opts, std::function<void(db&)> init) : opts_(std::move(opts)) {
    std::promise<void> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, &ready, init = std::move(init)] {
        try {
            db_ = std::make_unique<db>(opts_.path, opts_.busy_timeout_ms, opts_.synchronous);
            init(*db_);
            ready.set_value();
        } catch (...) {
            ready.set_exception(std::current_exception());
            return;
        }
        loop();
    });
    try {
        started.get();
    } catch (...) {
        thread_.join();
        throw;
    }
}

worker::~worker() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void worker::enqueue(job j) {
    {
        std::lock_guard lock(mu_);
        queue_.push_back(std::move(j));
    }
    cv_.notify_one();
}

void worker::loop() {
    for (;;) {
        std::deque<job> batch;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping
            // Reads run one at a time; consecutive writes are taken together.
            if (!queue_.front().write) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            } else {
                std::size_t bytes = 0;
                while (!queue_.empty() && queue_.front().write && batch.size() < opts_.max_batch &&
                       (batch.empty() || bytes + queue_.front().bytes <= opts_.max_batch_bytes)) {
                    bytes += queue_.front().bytes;
                    batch.push_back(std::move(queue_.front()));
                    queue_.pop_front();
                }
            }
        }
        run_batch(batch);
    }
}

void worker::run_batch(std::deque<job>& batch) {
    if (!batch.front().write) {
        batch.front().run(*db_);
        batch.front().complete();
        return;
    }
    try {
        // BEGIN IMMEDIATE takes the write lock up front, so offsets read inside the
        // transaction stay valid against writers in other processes (busy_timeout waits).
        db_->exec("BEGIN IMMEDIATE");
        for (auto& j : batch) {
            db_->exec("SAVEPOINT job");
            if (j.run(*db_))
                db_->exec("RELEASE job");
            else
                db_->exec("ROLLBACK TO job; RELEASE job");
        }
        db_->exec("COMMIT");
        ++commits_;
        write_jobs_ += batch.size();
    } catch (...) {
        // Nothing of this batch is durable: every caller gets the error.
        auto e = std::current_exception();
        try {
            if (!sqlite3_get_autocommit(db_->handle())) db_->exec("ROLLBACK");
        } catch (...) {
        }
        for (auto& j : batch) j.fail(e);
    }
    for (auto& j : batch) j.complete();
}

}  // namespace hako::storage::sqlite
