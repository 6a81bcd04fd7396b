#pragma once
// A small blocking Kafka client for the CLI tools: one connection, one request at a time.
// Not for the broker's serving path (that never blocks).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

#include "protocol/header.h"
#include "protocol/wire.h"

namespace hako::client {

// "tcp://host:port" or "host:port" -> host, port. Throws std::invalid_argument.
std::pair<std::string, std::uint16_t> parse_host_port(std::string_view url,
                                                      std::uint16_t default_port = 9092);

class sync_client {
public:
    // Connects; throws std::runtime_error with a message a user can act on.
    explicit sync_client(std::string_view url);

    // Sends one request and returns the raw response body (header stripped).
    std::string call(std::int16_t api_key, std::int16_t version, const std::string& body);

    template <class Request, class Response>
    Response request(std::int16_t api_key, std::int16_t version, const Request& req) {
        protocol::writer w;
        req.encode(w, version);
        auto body = call(api_key, version, w.buffer());
        protocol::reader r(body);
        Response resp;
        resp.decode(r, version);
        return resp;
    }

private:
    boost::asio::io_context io_;
    boost::asio::ip::tcp::socket socket_;
    std::int32_t next_correlation_ = 1;
};

}  // namespace hako::client
