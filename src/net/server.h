#pragma once
// The TCP listener and the per-connection loop: read a frame, let the broker handle it,
// write the response; requests on one connection are answered strictly in order, as
// Kafka does, which kafka-python requires. Consecutive Produce requests of one connection
// run concurrently once each has queued its appends (server.cc, `pipeline`).
//
// Threading: everything runs on the io_context passed in (one thread).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <set>

#include "broker/broker.h"

namespace hako::net {

class server {
public:
    server(boost::asio::io_context& io, broker::broker& b);

    // Binds and starts accepting. Throws boost::system::system_error with a clear message
    // when the address is in use.
    void listen(const std::string& host, std::uint16_t port);

    // Stop accepting, let in-flight requests finish, close idle connections.
    void stop();

    std::uint16_t port() const;

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
    struct slot;
    struct pipeline;
    boost::asio::awaitable<void> run_request(std::shared_ptr<pipeline> p, std::shared_ptr<slot> s);
    boost::asio::awaitable<void> write_responses(std::shared_ptr<pipeline> p);

    boost::asio::io_context& io_;
    broker::broker& broker_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::set<boost::asio::ip::tcp::socket*> connections_;
    bool stopping_ = false;
};

}  // namespace hako::net
