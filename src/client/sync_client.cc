#include "client/sync_client.h"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

#include "hako/protocol/messages/api_table.h"

namespace hako::client {

namespace asio = boost::asio;

std::pair<std::string, std::uint16_t> parse_host_port(std::string_view url,
                                                      std::uint16_t default_port) {
    if (auto p = url.find("://"); p != std::string_view::npos) url = url.substr(p + 3);
    while (!url.empty() && url.back() == '/') url.remove_suffix(1);
    std::string host;
    std::string port_text;
    if (!url.empty() && url.front() == '[') {  // [::1]:9092
        auto close = url.find(']');
        if (close == std::string_view::npos) throw std::invalid_argument("bad address");
        host = std::string(url.substr(1, close - 1));
        if (close + 1 < url.size() && url[close + 1] == ':') port_text = url.substr(close + 2);
    } else if (auto colon = url.rfind(':'); colon != std::string_view::npos) {
        host = std::string(url.substr(0, colon));
        port_text = url.substr(colon + 1);
    } else {
        host = std::string(url);
    }
    if (host.empty()) host = "0.0.0.0";
    std::uint16_t port = default_port;
    if (!port_text.empty()) {
        int p = 0;
        try {
            std::size_t used = 0;
            p = std::stoi(port_text, &used);
            if (used != port_text.size()) throw std::invalid_argument("x");
        } catch (...) {
            throw std::invalid_argument("port '" + port_text + "' is not a number");
        }
        if (p < 0 || p > 65535) throw std::invalid_argument("port " + port_text + " out of range");
        port = static_cast<std::uint16_t>(p);
    }
    return {host, port};
}

sync_client::sync_client(std::string_view url) : socket_(io_) {
    auto [host, port] = parse_host_port(url);
    asio::ip::tcp::resolver resolver(io_);
    boost::system::error_code ec;
    auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (!ec) asio::connect(socket_, endpoints, ec);
    if (ec)
        throw std::runtime_error("cannot connect to broker " + host + ":" + std::to_string(port) +
                                 ": " + ec.message() + " (is it running? see --broker)");
}

std::string sync_client::call(std::int16_t api_key, std::int16_t version, const std::string& body) {
    const auto* api = protocol::find_api(api_key);
    bool flexible = api && api->is_flexible(version);
    protocol::request_header h;
    h.api_key = api_key;
    h.api_version = version;
    h.correlation_id = next_correlation_++;
    h.client_id = "hako-cli";
    protocol::writer w;
    w.write_i32(0);
    h.encode(w, flexible);
    w.write_raw(body);
    auto& buf = w.buffer();
    auto size = static_cast<std::uint32_t>(buf.size() - 4);
    for (int i = 0; i < 4; ++i) buf[static_cast<std::size_t>(i)] = static_cast<char>(size >> (24 - 8 * i));
    asio::write(socket_, asio::buffer(buf));

    std::array<char, 4> sb;
    asio::read(socket_, asio::buffer(sb));
    std::uint32_t n = 0;
    for (char c : sb) n = (n << 8) | static_cast<std::uint8_t>(c);
    std::string resp(n, '\0');
    asio::read(socket_, asio::buffer(resp));
    protocol::reader r(resp);
    if (r.read_i32() != h.correlation_id) throw std::runtime_error("correlation id mismatch");
    // ApiVersions answers with header v0 even when flexible
    if (flexible && api_key != 18) {
        auto tags = r.read_uvarint();
        for (std::uint32_t i = 0; i < tags; ++i) {
            r.read_uvarint();
            r.skip(r.read_uvarint());
        }
    }
    return std::string(r.take(r.remaining()));
}

}  // namespace hako::client
