#pragma once
// One asynchronous libpq connection driven by the broker's Asio event loop: libpq runs in
// non-blocking mode and we wait for its socket with posix::stream_descriptor::async_wait,
// so no thread is ever parked on a query. Connect with PQconnectStart/PQconnectPoll;
// queries with PQsendQueryParams (binary results); COPY with PQputCopyData/PQputCopyEnd.
//
// Errors throw pg_error; a connection whose socket broke reports !healthy() and the pool
// drops it (PQfinish rolls back whatever transaction it had open on the server).

#include <libpq-fe.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace hako::storage::postgres {

using boost::asio::awaitable;

struct pg_error : std::runtime_error {
    pg_error(const std::string& what, std::string state = {})
        : std::runtime_error(what), sqlstate(std::move(state)) {}
    std::string sqlstate;  // e.g. "40P01"; empty for connection failures
};

// Query parameters: text format except for binary bytea.
class params {
public:
    params& text(std::string_view v);
    params& i64(std::int64_t v) { return text(std::to_string(v)); }
    params& bin(std::string_view v);
    params& bytes(const std::optional<std::string>& v);  // bytea or NULL
    params& null();

    std::vector<std::string> values;
    std::vector<int> formats;
    std::vector<bool> nulls;
};

// A finished result (binary format): rows of fields.
class result {
public:
    result() = default;
    explicit result(PGresult* r) : r_(r, PQclear) {}
    int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
    bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col); }
    std::string_view field(int row, int col) const {
        return {PQgetvalue(r_.get(), row, col),
                static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
    }
    std::int64_t i64(int row, int col) const;
    std::string str(int row, int col) const { return std::string(field(row, col)); }
    std::optional<std::string> opt(int row, int col) const {
        if (is_null(row, col)) return std::nullopt;
        return str(row, col);
    }
    std::int64_t affected() const;  // PQcmdTuples

private:
    std::shared_ptr<PGresult> r_;
};

class connection {
public:
    // Connects without blocking, then runs `setup` (SET search_path ...).
    static awaitable<std::unique_ptr<connection>> open(boost::asio::any_io_executor ex,
                                                       std::string conninfo, std::string setup);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Arguments by value: the coroutine starts only when awaited, after the caller's
    // temporaries are gone.
    // One statement with parameters; binary results.
    awaitable<result> query(std::string sql, params p = {});
    // Statements without parameters (BEGIN, COMMIT, LISTEN ...); the last result.
    awaitable<result> exec(std::string sql);
    // COPY ... FROM STDIN with `data` as the whole stream.
    awaitable<result> copy_in(std::string sql, std::string data);

    // Waits until the server sends something (notifications on a LISTENing connection)
    // and returns the notifications as (channel, payload).
    awaitable<std::vector<std::pair<std::string, std::string>>> wait_notifications();

    // Wakes a pending wait with operation_aborted (engine shutdown).
    void cancel();

    bool healthy() const;
    bool idle_in_no_transaction() const;
    PGconn* raw() { return conn_; }

private:
    connection(boost::asio::any_io_executor ex, PGconn* c);
    awaitable<void> wait(bool write);
    awaitable<void> flush();
    awaitable<result> collect();  // results of the query just sent, the last one returned
    void fail(const std::string& what);

    boost::asio::any_io_executor ex_;
    PGconn* conn_;
    std::unique_ptr<boost::asio::posix::stream_descriptor> sock_;
};

}  // namespace hako::storage::postgres
