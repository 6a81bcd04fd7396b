#include "net/server.h"

#include <array>
#include <cstring>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
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

asio::awaitable<void> server::serve(tcp::socket socket) {
    connections_.insert(&socket);
    broker::connection_state conn;
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (!ec) conn.peer = remote.address().to_string() + ":" + std::to_string(remote.port());

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
        while (!stopping_) {
            while (end - begin < 4) {
                compact();
                end += co_await socket.async_read_some(asio::buffer(buf.data() + end, buf.size() - end),
                                                       asio::use_awaitable);
            }
            std::uint32_t size = 0;
            for (int i = 0; i < 4; ++i) size = (size << 8) | static_cast<std::uint8_t>(buf[begin + i]);
            if (size < 8 || size > max_request) {
                fmt::print(stderr, "closing {}: request size {} outside [8, {}]\n", conn.peer,
                           size, max_request);
                break;
            }
            if (buf.size() < size + 4u) {
                compact();
                buf.resize(size + 4u);
            }
            while (end - begin < size + 4u) {
                if (begin + size + 4u > buf.size()) compact();
                end += co_await socket.async_read_some(asio::buffer(buf.data() + end, buf.size() - end),
                                                       asio::use_awaitable);
            }
            std::string_view frame(buf.data() + begin + 4, size);
            begin += size + 4u;
            // The frame view stays valid: nothing reads into the buffer while it is handled.
            auto response = co_await broker_.handle(frame, conn);
            if (begin == end) begin = end = 0;
            if (buf.size() > 4 * initial_buffer && end - begin <= initial_buffer) {
                compact();  // do not keep a large request's buffer for an idle connection
                buf.resize(initial_buffer);
                buf.shrink_to_fit();
            }
            if (!response) continue;
            std::array<asio::const_buffer, 2> bufs{asio::buffer(response->head),
                                                   asio::buffer(response->body)};
            co_await asio::async_write(socket, bufs, asio::use_awaitable);
        }
    } catch (const boost::system::system_error& e) {
        // peer closed or cancelled at shutdown: nothing to report
    } catch (const protocol::decode_error& e) {
        fmt::print(stderr, "closing {}: malformed request: {}\n", conn.peer, e.what());
    } catch (const broker::connection_error& e) {
        fmt::print(stderr, "closing {}: {}\n", conn.peer, e.what());
    } catch (const std::exception& e) {
        fmt::print(stderr, "closing {}: internal error: {}\n", conn.peer, e.what());
    }
    connections_.erase(&socket);
    socket.close(ec);
}

}  // namespace hako::net
