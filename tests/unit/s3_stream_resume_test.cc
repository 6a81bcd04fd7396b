// s3::client against a scripted HTTP server, for what moto_server cannot show:
// get_stream when the first answer is cut off midway (the client resumes with a Range
// request for the rest, pinned to the first answer's ETag with If-Match, and the sink sees
// every byte once), and the exact headers of a PUT whose payload is not signed. The server
// is ours: a thread with blocking sockets, one script per test.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <thread>
#include <vector>

#include "storage/s3/s3_client.h"

namespace hako::storage::s3 {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// Serves one connection per scripted answer, in order, and records each request's head.
class scripted_server {
public:
    explicit scripted_server(std::vector<std::string> answers)
        : answers_(std::move(answers)), acceptor_(io_, tcp::endpoint(tcp::v4(), 0)) {
        thread_ = std::thread([this] {
            for (const auto& answer : answers_) {
                tcp::socket s(io_);
                boost::system::error_code accept_ec;
                acceptor_.accept(s, accept_ec);
                if (accept_ec) return;  // join(): the client made fewer requests than scripted
                asio::streambuf buf;
                asio::read_until(s, buf, "\r\n\r\n");
                std::string head(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
                auto end = head.find("\r\n\r\n") + 4;
                auto cl = lower(head).find("content-length: ");
                std::size_t body = cl < end ? std::stoul(head.substr(cl + 16)) : 0;
                if (head.size() - end < body) {  // read the whole body before answering
                    boost::system::error_code ec;
                    asio::read(s, buf, asio::transfer_exactly(body - (head.size() - end)), ec);
                }
                requests_.push_back(head.substr(0, end - 4));
                asio::write(s, asio::buffer(answer));
                boost::system::error_code ec;
                s.shutdown(tcp::socket::shutdown_both, ec);
            }
        });
    }
    ~scripted_server() {
        if (thread_.joinable()) join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    const std::vector<std::string>& requests() { return requests_; }  // after join()
    // Waits for the script; a blocked accept (fewer requests than answers) is woken by
    // shutting the listening socket down, so a client that gives up fails the test
    // instead of hanging it.
    void join() {
        ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
        thread_.join();
    }

private:
    std::vector<std::string> answers_;
    asio::io_context io_;
    tcp::acceptor acceptor_;
    std::vector<std::string> requests_;
    std::thread thread_;
};

config local(std::uint16_t port) {
    config c;
    c.scheme = "http";
    c.host = "127.0.0.1";
    c.port = port;
    c.allow_http = true;
    c.bucket = "b";
    c.creds = {"AK", "SK", ""};
    c.base_backoff = std::chrono::milliseconds(1);
    c.request_timeout = std::chrono::milliseconds(5000);
    return c;
}

std::string body_of(std::size_t n) {
    std::string b(n, '\0');
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<char>('a' + i % 26);
    return b;
}

response stream(std::uint16_t port, std::string& got) {
    asio::io_context io;
    client c(local(port), io.get_executor());
    auto fut = asio::co_spawn(
        io, c.get_stream("obj", [&](std::string_view chunk) { got += chunk; }), asio::use_future);
    io.run();
    return fut.get();
}

bool has_header(const std::string& head, const std::string& line) {
    return lower(head).find(lower(line)) != std::string::npos;
}

TEST(S3Stream, ACutTransferResumesWithRangePinnedToTheETag) {
    const auto full = body_of(200000);
    const std::size_t cut = 70001;
    scripted_server server({
        "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\nETag: \"v1\"\r\n\r\n" + full.substr(0, cut),
        "HTTP/1.1 206 Partial Content\r\nContent-Length: " + std::to_string(full.size() - cut) +
            "\r\nETag: \"v1\"\r\nContent-Range: bytes 70001-199999/200000\r\n\r\n" + full.substr(cut),
    });
    std::string got;
    auto r = stream(server.port(), got);
    server.join();
    EXPECT_EQ(r.status, 206);
    EXPECT_TRUE(got == full) << "got " << got.size() << " bytes";
    ASSERT_EQ(server.requests().size(), 2u);
    EXPECT_FALSE(has_header(server.requests()[0], "range:"));
    EXPECT_TRUE(has_header(server.requests()[1], "range: bytes=70001-")) << server.requests()[1];
    EXPECT_TRUE(has_header(server.requests()[1], "if-match: \"v1\"")) << server.requests()[1];
}

TEST(S3Stream, AResumeThatIgnoresRangeSkipsWhatWasDelivered) {
    const auto full = body_of(150000);
    scripted_server server({
        "HTTP/1.1 200 OK\r\nContent-Length: 150000\r\nETag: \"v1\"\r\n\r\n" + full.substr(0, 90000),
        "HTTP/1.1 200 OK\r\nContent-Length: 150000\r\nETag: \"v1\"\r\n\r\n" + full,
    });
    std::string got;
    auto r = stream(server.port(), got);
    server.join();
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(got == full) << "got " << got.size() << " bytes";
}

TEST(S3Stream, AnObjectChangedMidTransferEndsWith412) {
    const auto full = body_of(100000);
    scripted_server server({
        "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nETag: \"v1\"\r\n\r\n" + full.substr(0, 5000),
        "HTTP/1.1 412 Precondition Failed\r\nContent-Length: 0\r\n\r\n",
    });
    std::string got;
    auto r = stream(server.port(), got);
    server.join();
    EXPECT_EQ(r.status, 412) << "the caller must learn that the pieces do not fit together";
    EXPECT_EQ(got.size(), 5000u);
}

// A whole GET of a large body is read past the HTTP parser: the part of the body that
// arrived with the header (here all of it, one write) and the rest must join exactly.
TEST(S3Stream, AWholeLargeBodyArrivingWithItsHeaderIsExact) {
    const auto full = body_of(300007);
    scripted_server server({
        "HTTP/1.1 200 OK\r\nContent-Length: 300007\r\nETag: \"v1\"\r\n\r\n" + full,
    });
    asio::io_context io;
    client c(local(server.port()), io.get_executor());
    auto fut = asio::co_spawn(io, c.get("obj"), asio::use_future);
    io.run();
    auto r = fut.get();
    server.join();
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == full) << "got " << r.body.size() << " bytes";
}

TEST(S3Payload, UnsignedPayloadCarriesTheBodysCrc32cAndSignedTheSha256) {
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: \"e\"\r\n\r\n";
    scripted_server server({ok, ok, ok, ok});
    asio::io_context io;
    auto cfg = local(server.port());
    cfg.sign_payload = false;
    client unsigned_client(cfg, io.get_executor());
    cfg.sign_payload = true;
    client signed_client(cfg, io.get_executor());
    auto puts = [&]() -> awaitable<void> {
        auto a = unsigned_client.put("k", "123456789");
        co_await std::move(a);
        auto b = unsigned_client.put_parts("k", {"1234", "56789"});
        co_await std::move(b);
        auto c = signed_client.put("k", "123456789");
        co_await std::move(c);
        // a checksum the caller already has is sent as given, the body not read for it
        auto d = unsigned_client.put_parts("k", {"1234", "56789"}, put_condition::none, {},
                                           0x12345678u);
        co_await std::move(d);
    };
    auto fut = asio::co_spawn(io, puts(), asio::use_future);
    io.run();
    fut.get();
    server.join();
    ASSERT_EQ(server.requests().size(), 4u);
    EXPECT_TRUE(has_header(server.requests()[3], "x-amz-checksum-crc32c: EjRWeA==")) << server.requests()[3];
    for (int i : {0, 1}) {
        const auto& head = server.requests()[i];
        EXPECT_TRUE(has_header(head, "x-amz-content-sha256: UNSIGNED-PAYLOAD")) << head;
        // CRC32C("123456789") = 0xE3069283, big-endian, base64
        EXPECT_TRUE(has_header(head, "x-amz-checksum-crc32c: 4waSgw==")) << head;
        EXPECT_TRUE(has_header(head, "x-amz-checksum-crc32c;")) << "signed header: " << head;
    }
    const auto& head = server.requests()[2];
    EXPECT_TRUE(has_header(head, "x-amz-content-sha256: "
                                 "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"))
        << head;
    EXPECT_FALSE(has_header(head, "x-amz-checksum-crc32c")) << head;
}

}  // namespace
}  // namespace hako::storage::s3
