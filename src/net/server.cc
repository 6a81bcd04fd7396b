#include "net/server.h"

#include <algorithm>
#include <array>
#include <deque>
#include <memory>
#include <string_view>
#include <cstring>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/core.h>

#include "protocol/wire.h"

namespace hako::net {

namespace asio = boost::asio;
using asio::ip::tcp;

server::server(asio::io_context& io, broker::broker& b) : io_(io), broker_(b), acceptor_(io) {}

void server::listen(const std::string& host, std::uint16_t port) {
    tcp::endpoint ep(asio::ip::make_address(host), port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    asio::co_spawn(io_, accept_loop(), asio::detached);
}

std::uint16_t server::port() const { return acceptor_.local_endpoint().port(); }

void server::stop() {
    stopping_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    // Idle connections are blocked in a read: cancel it. A connection in the middle of a
    // request finishes it first and then sees stopping_.
    for (auto* s : connections_) s->cancel(ec);
    broker_.waiters().notify_all();
}

asio::awaitable<void> server::accept_loop() {
    while (!stopping_) {
        boost::system::error_code ec;
        auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (stopping_ || ec == asio::error::operation_aborted) co_return;
            continue;  // EMFILE and friends: keep serving the others
        }
        socket.set_option(tcp::no_delay(true), ec);
        asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
}

// One connection's requests in flight. Requests start in arrival order; a Produce request
// lets the next request start as soon as its appends are queued in storage (the broker
// calls `ordered`), so a producer's pipelined requests (librdkafka sends one partition per
// request, up to max.in.flight at a time) are appended concurrently and, for one
// partition, coalesced — instead of one storage round trip after another. Every other
// request starts after all earlier ones have finished and holds back the next until it
// has finished itself, as before. Responses go out strictly in request order.
// A request's bytes, allocated without the zero-fill std::string::resize would do before
// megabytes of a producer's batches are read over it (~9% of an s3 broker's samples).
// Shared: a Produce request's batches go to storage as slices of it (no copy), so the
// frame lives on after its request while storage keeps any of them.
struct frame_bytes {
    std::shared_ptr<char[]> bytes;
    std::size_t n = 0;
    void allocate(std::size_t size) {
        bytes.reset(new char[size]);  // default-initialised: every byte is read over
        n = size;
    }
    void release() {
        bytes.reset();
        n = 0;
    }
    char* data() { return bytes.get(); }
    std::size_t size() const { return n; }
};

struct server::slot {
    frame_bytes frame;  // owned: the read buffer moves on while the request runs
    std::optional<broker::response_frame> response;
    std::exception_ptr error;  // closes the connection once earlier answers are out
    bool ordered = false;      // the next request may start
    bool done = false;
};

struct server::pipeline {
    explicit pipeline(tcp::socket s) : socket(std::move(s)), changed(socket.get_executor()) {
        changed.expires_at(asio::steady_timer::time_point::max());
    }
    tcp::socket socket;
    broker::connection_state conn;
    std::deque<std::shared_ptr<slot>> pending;  // oldest first, until written
    std::size_t pending_bytes = 0;              // frames of requests not yet finished
    asio::steady_timer changed;  // cancelled whenever a slot or `closing` changes
    bool closing = false;        // reader ended or a write failed
    bool writer_done = false;

    void notify() { changed.cancel(); }
    asio::awaitable<void> wait() {
        boost::system::error_code ec;
        co_await changed.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
};

namespace {
// Pipelined requests per connection (librdkafka's idempotent producer keeps at most 5 in
// flight, its plain producer as many as it has batches), bounded by count and by frame
// bytes held (config::max_inflight_bytes): the more queue per partition while a write is
// in flight, the larger the next write (one object on s3, one COPY on postgres).
constexpr std::size_t max_pipelined = 64;
constexpr std::int16_t produce_key = 0;
}  // namespace

asio::awaitable<void> server::run_request(std::shared_ptr<pipeline> p,
                                          std::shared_ptr<slot> s) {
    try {
        auto op = broker_.handle(s->frame.bytes, s->frame.size(), p->conn, [p, s] {
            s->ordered = true;
            p->notify();
        });
        s->response = co_await std::move(op);
    } catch (...) {
        s->error = std::current_exception();
    }
    p->pending_bytes -= s->frame.size();
    s->frame.release();  // the request's bytes are not needed for its answer
    s->ordered = s->done = true;
    p->notify();
}

asio::awaitable<void> server::write_responses(std::shared_ptr<pipeline> p) {
    try {
        for (;;) {
            while (!p->pending.empty() && p->pending.front()->done) {
                auto s = p->pending.front();
                p->pending.pop_front();
                p->notify();
                if (s->error) std::rethrow_exception(s->error);
                if (!s->response) continue;
                std::array<asio::const_buffer, 2> bufs{asio::buffer(s->response->head),
                                                       asio::buffer(s->response->body)};
                co_await asio::async_write(p->socket, bufs, asio::use_awaitable);
            }
            if (p->closing && p->pending.empty()) break;
            co_await p->wait();
        }
    } catch (const boost::system::system_error&) {
        // peer closed or cancelled at shutdown: nothing to report
    } catch (const protocol::decode_error& e) {
        fmt::print(stderr, "closing {}: malformed request: {}\n", p->conn.peer, e.what());
    } catch (const broker::connection_error& e) {
        fmt::print(stderr, "closing {}: {}\n", p->conn.peer, e.what());
    } catch (const std::exception& e) {
        fmt::print(stderr, "closing {}: internal error: {}\n", p->conn.peer, e.what());
    }
    // Stop reading; requests still running finish (their slots keep what they use alive).
    p->closing = true;
    boost::system::error_code ec;
    p->socket.cancel(ec);
    p->writer_done = true;
    p->notify();
}

asio::awaitable<void> server::serve(tcp::socket socket) {
    auto p = std::make_shared<pipeline>(std::move(socket));
    connections_.insert(&p->socket);
    boost::system::error_code ec;
    auto remote = p->socket.remote_endpoint(ec);
    if (!ec) p->conn.peer = remote.address().to_string() + ":" + std::to_string(remote.port());
    auto ex = p->socket.get_executor();
    asio::co_spawn(ex, write_responses(p), asio::detached);

    const auto max_request = static_cast<std::uint32_t>(broker_.cfg().max_request_bytes);
    // Reads go into one buffer, so pipelined requests arrive with one syscall for
    // several frames instead of two per frame.
    constexpr std::size_t initial_buffer = 64 * 1024;
    std::string buf(initial_buffer, '\0');
    std::size_t begin = 0, end = 0;
    auto compact = [&] {
        if (begin == 0) return;
        std::memmove(buf.data(), buf.data() + begin, end - begin);
        end -= begin;
        begin = 0;
    };
    try {
        while (!stopping_ && !p->closing) {
            while (end - begin < 4) {
                compact();
                end += co_await p->socket.async_read_some(
                    asio::buffer(buf.data() + end, buf.size() - end), asio::use_awaitable);
            }
            std::uint32_t size = 0;
            for (int i = 0; i < 4; ++i) size = (size << 8) | static_cast<std::uint8_t>(buf[begin + i]);
            if (size < 8 || size > max_request) {
                fmt::print(stderr, "closing {}: request size {} outside [8, {}]\n", p->conn.peer,
                           size, max_request);
                break;
            }
            auto s = std::make_shared<slot>();
            if (size > initial_buffer) {
                // A large request (a producer's batches) is read straight into its frame:
                // one copy less of every produced byte, and the read buffer never grows
                // past initial_buffer + 4.
                const std::size_t have = std::min<std::size_t>(end - begin - 4, size);
                s->frame.allocate(size);
                std::memcpy(s->frame.data(), buf.data() + begin + 4, have);
                begin += 4 + have;
                if (begin == end) begin = end = 0;
                if (have < size) {
                    auto op = asio::async_read(p->socket,
                                               asio::buffer(s->frame.data() + have, size - have),
                                               asio::use_awaitable);
                    co_await std::move(op);
                }
            } else {
                if (buf.size() < size + 4u) {
                    compact();
                    buf.resize(size + 4u);
                }
                while (end - begin < size + 4u) {
                    if (begin + size + 4u > buf.size()) compact();
                    end += co_await p->socket.async_read_some(
                        asio::buffer(buf.data() + end, buf.size() - end), asio::use_awaitable);
                }
                s->frame.allocate(size);
                std::memcpy(s->frame.data(), buf.data() + begin + 4, size);
                begin += size + 4u;
                if (begin == end) begin = end = 0;
            }
            const bool produce =
                (static_cast<std::uint8_t>(s->frame.data()[0]) << 8 |
                 static_cast<std::uint8_t>(s->frame.data()[1])) == produce_key;
            // Start gate: a produce request waits for room; anything else for all earlier
            // requests to finish. (The previous request is already ordered: see below.)
            auto full = [&] {
                return !p->pending.empty() &&
                       (p->pending.size() >= max_pipelined ||
                        static_cast<std::int64_t>(p->pending_bytes + size) >
                            broker_.cfg().max_inflight_bytes);
            };
            while (!p->closing && (produce ? full()
                                           : !std::all_of(p->pending.begin(), p->pending.end(),
                                                          [](auto& x) { return x->done; })))
                co_await p->wait();
            if (p->closing) break;
            p->pending.push_back(s);
            p->pending_bytes += s->frame.size();
            asio::co_spawn(ex, run_request(p, s), asio::detached);
            // Hold the next request back until this one allows it.
            while (!p->closing && !(produce ? s->ordered : s->done)) co_await p->wait();
        }
    } catch (const boost::system::system_error& e) {
        // peer closed or cancelled at shutdown: nothing to report
    }
    p->closing = true;
    p->notify();
    while (!p->writer_done) co_await p->wait();
    connections_.erase(&p->socket);
    p->socket.close(ec);
}

}  // namespace hako::net
