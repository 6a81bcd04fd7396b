// Asynchronous libpq on Asio (pg_conn.h).
#include "storage/postgres/pg_conn.h"

#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "storage/postgres/pg_copy.h"

namespace hako::storage::postgres {

namespace asio = boost::asio;

params& params::text(std::string_view v) {
    values.emplace_back(v);
    formats.push_back(0);
    nulls.push_back(false);
    return *this;
}

params& params::bin(std::string_view v) {
    values.emplace_back(v);
    formats.push_back(1);
    nulls.push_back(false);
    return *this;
}

params& params::bytes(const std::optional<std::string>& v) {
    return v ? bin(*v) : null();
}

params& params::null() {
    values.emplace_back();
    formats.push_back(0);
    nulls.push_back(true);
    return *this;
}

std::int64_t result::i64(int row, int col) const { return read_int(field(row, col)); }

std::int64_t result::affected() const {
    const char* s = PQcmdTuples(r_.get());
    std::int64_t n = 0;
    std::from_chars(s, s + std::char_traits<char>::length(s), n);
    return n;
}

connection::connection(asio::any_io_executor ex, PGconn* c) : ex_(std::move(ex)), conn_(c) {}

connection::~connection() {
    // The descriptor must let go of the socket before libpq closes it.
    if (sock_) {
        boost::system::error_code ec;
        sock_->cancel(ec);
        sock_->release();
    }
    PQfinish(conn_);
}

void connection::cancel() {
    boost::system::error_code ec;
    if (sock_) sock_->cancel(ec);
}

bool connection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

bool connection::idle_in_no_transaction() const {
    return PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

void connection::fail(const std::string& what) {
    std::string msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    throw pg_error("postgres: " + what + ": " + msg);
}

awaitable<void> connection::wait(bool write) {
    int fd = PQsocket(conn_);
    if (fd < 0) fail("no socket");
    if (!sock_ || sock_->native_handle() != fd) {
        if (sock_) sock_->release();
        sock_ = std::make_unique<asio::posix::stream_descriptor>(ex_, fd);
    }
    auto op = sock_->async_wait(write ? asio::posix::stream_descriptor::wait_write
                                      : asio::posix::stream_descriptor::wait_read,
                                asio::use_awaitable);
    co_await std::move(op);
}

awaitable<std::unique_ptr<connection>> connection::open(asio::any_io_executor ex,
                                                        std::string conninfo, std::string setup) {
    PGconn* raw = PQconnectStart(conninfo.c_str());
    if (!raw) throw pg_error("postgres: out of memory starting a connection");
    std::unique_ptr<connection> c(new connection(ex, raw));
    if (PQstatus(raw) == CONNECTION_BAD) c->fail("cannot connect");
    // PQconnectPoll may switch sockets (several hosts in the URL), so wait() re-checks.
    auto state = PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
        if (state == PGRES_POLLING_FAILED) c->fail("cannot connect");
        co_await c->wait(state == PGRES_POLLING_WRITING);
        state = PQconnectPoll(raw);
    }
    if (PQsetnonblocking(raw, 1) != 0) c->fail("cannot switch to non-blocking mode");
    if (!setup.empty()) co_await c->exec(setup);
    co_return c;
}

awaitable<void> connection::flush() {
    for (;;) {
        int r = PQflush(conn_);
        if (r == 0) co_return;
        if (r < 0) fail("send failed");
        co_await wait(true);
    }
}

awaitable<result> connection::collect() {
    result last;
    std::optional<pg_error> error;
    for (;;) {
        while (!PQisBusy(conn_)) {
            PGresult* r = PQgetResult(conn_);
            if (!r) {
                if (error) throw *error;
                co_return last;
            }
            auto st = PQresultStatus(r);
            if (st == PGRES_COPY_IN) co_return result(r);  // the caller sends the data
            if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE) {
                const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
                std::string msg = PQresultErrorMessage(r);
                while (!msg.empty() && msg.back() == '\n') msg.pop_back();
                if (!error) error.emplace("postgres: " + msg, code ? code : "");
                PQclear(r);
                continue;
            }
            last = result(r);
        }
        co_await wait(false);
        if (!PQconsumeInput(conn_)) fail("connection lost");
    }
}

awaitable<result> connection::query(std::string text, params p) {
    std::vector<const char*> vals;
    std::vector<int> lens;
    for (std::size_t i = 0; i < p.values.size(); ++i) {
        vals.push_back(p.nulls[i] ? nullptr : p.values[i].data());
        lens.push_back(static_cast<int>(p.values[i].size()));
    }
    if (!PQsendQueryParams(conn_, text.c_str(), static_cast<int>(vals.size()), nullptr,
                           vals.data(), lens.data(), p.formats.data(), 1))
        fail("cannot send query");
    co_await flush();
    co_return co_await collect();
}

awaitable<result> connection::exec(std::string text) {
    if (!PQsendQuery(conn_, text.c_str())) fail("cannot send query");
    co_await flush();
    co_return co_await collect();
}

awaitable<result> connection::copy_in(std::string text, std::string data) {
    if (!PQsendQuery(conn_, text.c_str())) fail("cannot send COPY");
    co_await flush();
    co_await collect();  // returns at PGRES_COPY_IN (or throws)
    constexpr std::size_t chunk = 256 * 1024;
    for (std::size_t at = 0; at < data.size();) {
        auto n = std::min(chunk, data.size() - at);
        int r = PQputCopyData(conn_, data.data() + at, static_cast<int>(n));
        if (r < 0) fail("COPY failed");
        if (r == 0) {  // libpq's buffer is full: let the socket drain
            co_await wait(true);
            if (PQflush(conn_) < 0) fail("COPY failed");
            continue;
        }
        at += n;
    }
    for (;;) {
        int r = PQputCopyEnd(conn_, nullptr);
        if (r < 0) fail("COPY failed");
        if (r == 1) break;
        co_await wait(true);
    }
    co_await flush();
    co_return co_await collect();
}

awaitable<std::vector<std::pair<std::string, std::string>>> connection::wait_notifications() {
    std::vector<std::pair<std::string, std::string>> out;
    for (;;) {
        if (!PQconsumeInput(conn_)) fail("connection lost");
        while (PGnotify* n = PQnotifies(conn_)) {
            out.emplace_back(n->relname, n->extra);
            PQfreemem(n);
        }
        if (!out.empty()) co_return out;
        co_await wait(false);
    }
}

}  // namespace hako::storage::postgres
