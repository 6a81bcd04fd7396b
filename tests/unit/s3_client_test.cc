// s3::client against a real S3-compatible server (moto_server): requests, conditional
// writes, listings, keys that need encoding, concurrency, and the environment.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <csignal>
#include <cstdlib>
#include <future>
#include <unistd.h>

#include "s3_test_server.h"
#include "storage/s3/s3_client.h"

namespace hako::storage::s3 {
namespace {

namespace asio = boost::asio;

class S3Client : public ::testing::Test {
protected:
    template <class F>
    auto run(F f) {
        auto fut = asio::co_spawn(io_, f(), asio::use_future);
        io_.restart();
        io_.run();
        return fut.get();
    }

    void SetUp() override {
        std::string why;
        if (testing::s3_test_endpoint(&why).empty()) GTEST_SKIP() << why;
        bucket_ = "client-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++);
        auto cfg = config_from_env(bucket_);
        cfg.max_connections = 4;
        client_ = std::make_unique<client>(cfg, io_.get_executor());
        auto r = run([this]() -> awaitable<response> { co_return co_await client_->create_bucket(); });
        ASSERT_TRUE(r.ok()) << r.status << r.body;
    }

    asio::io_context io_;
    std::string bucket_;
    std::unique_ptr<client> client_;
    static inline int counter_ = 0;
};

TEST_F(S3Client, PutGetHeadRangeDelete) {
    auto r = run([&]() -> awaitable<response> { co_return co_await client_->put("a/b.bin", "hello world"); });
    ASSERT_EQ(r.status, 200);
    EXPECT_FALSE(r.etag.empty());
    auto etag = r.etag;
    r = run([&]() -> awaitable<response> { co_return co_await client_->get("a/b.bin"); });
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello world");
    EXPECT_EQ(r.etag, etag);
    r = run([&]() -> awaitable<response> { co_return co_await client_->get("a/b.bin", std::pair{6, 10}); });
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "world");
    r = run([&]() -> awaitable<response> { co_return co_await client_->get("a/b.bin", {}, etag); });
    EXPECT_EQ(r.status, 304);
    r = run([&]() -> awaitable<response> { co_return co_await client_->head("a/b.bin"); });
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_length, 11);
    r = run([&]() -> awaitable<response> { co_return co_await client_->del("a/b.bin"); });
    EXPECT_EQ(r.status, 204);
    r = run([&]() -> awaitable<response> { co_return co_await client_->get("a/b.bin"); });
    EXPECT_EQ(r.status, 404);
    r = run([&]() -> awaitable<response> { co_return co_await client_->head_bucket(); });
    EXPECT_EQ(r.status, 200);
}

TEST_F(S3Client, ConditionalWritesHaveOneWinner) {
    auto r = run([&]() -> awaitable<response> {
        co_return co_await client_->put("doc", "v1", put_condition::if_none_match_any);
    });
    ASSERT_EQ(r.status, 200);
    auto etag1 = r.etag;
    r = run([&]() -> awaitable<response> {
        co_return co_await client_->put("doc", "again", put_condition::if_none_match_any);
    });
    EXPECT_EQ(r.status, 412);
    EXPECT_FALSE(r.ambiguous);
    r = run([&]() -> awaitable<response> {
        co_return co_await client_->put("doc", "v2", put_condition::if_match, etag1);
    });
    ASSERT_EQ(r.status, 200);
    r = run([&]() -> awaitable<response> {
        co_return co_await client_->put("doc", "v3", put_condition::if_match, etag1);
    });
    EXPECT_EQ(r.status, 412);
    r = run([&]() -> awaitable<response> { co_return co_await client_->get("doc"); });
    EXPECT_EQ(r.body, "v2");
}

TEST_F(S3Client, KeysThatNeedEncodingRoundTrip) {
    for (std::string key : {"sp ace/x", "plus+equals=amp&", "unicode/\xc3\xa9t\xc3\xa9", "tilde~star*"}) {
        auto r = run([&]() -> awaitable<response> { co_return co_await client_->put(key, key); });
        ASSERT_EQ(r.status, 200) << key << r.body;
        r = run([&]() -> awaitable<response> { co_return co_await client_->get(key); });
        EXPECT_EQ(r.body, key);
    }
    auto l = run([&]() -> awaitable<list_result> { co_return co_await client_->list("plus"); });
    ASSERT_EQ(l.entries.size(), 1u);
    EXPECT_EQ(l.entries[0].key, "plus+equals=amp&");
}

TEST_F(S3Client, ListingPagesWithTokensAndStartAfter) {
    run([&]() -> awaitable<void> {
        for (int i = 0; i < 25; ++i) {
            char k[32];
            std::snprintf(k, sizeof k, "p/%04d", i);
            co_await client_->put(k, "x");
        }
        co_await client_->put("q/other", "x");
    });
    std::vector<std::string> keys;
    std::optional<std::string> token;
    int pages = 0;
    do {
        auto l = run([&]() -> awaitable<list_result> { co_return co_await client_->list("p/", {}, token, 10); });
        ASSERT_EQ(l.status, 200);
        for (auto& e : l.entries) keys.push_back(e.key);
        token = l.next_token;
        ++pages;
    } while (token);
    EXPECT_EQ(pages, 3);
    ASSERT_EQ(keys.size(), 25u);
    EXPECT_EQ(keys.front(), "p/0000");
    EXPECT_EQ(keys.back(), "p/0024");
    auto l = run([&]() -> awaitable<list_result> { co_return co_await client_->list("p/", "p/0020"); });
    ASSERT_EQ(l.entries.size(), 4u);
    EXPECT_EQ(l.entries[0].key, "p/0021");
}

TEST_F(S3Client, StreamingPutFromPartsAndGetInChunks) {
    std::string big(3 * 1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + i / 7);
    std::vector<std::string_view> parts{std::string_view(big).substr(0, 1 << 20), {},
                                        std::string_view(big).substr(1 << 20)};
    auto r = run([&]() -> awaitable<response> {
        co_return co_await client_->put_parts("s/big", parts, put_condition::if_none_match_any);
    });
    ASSERT_EQ(r.status, 200) << r.body;
    std::string got;
    std::size_t chunks = 0, largest = 0;
    auto sink = [&](std::string_view c) {
        got += c;
        ++chunks;
        largest = std::max(largest, c.size());
    };
    r = run([&]() -> awaitable<response> { co_return co_await client_->get_stream("s/big", sink); });
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body.empty());
    EXPECT_FALSE(r.etag.empty());
    EXPECT_TRUE(got == big) << "streamed body differs (" << got.size() << " bytes)";
    EXPECT_GT(chunks, 40u) << "the body was not delivered as it arrived";
    EXPECT_LE(largest, 64u * 1024);
    // Whole, as the engine reads objects (past the HTTP parser's buffer).
    r = run([&]() -> awaitable<response> { co_return co_await client_->get("s/big"); });
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == big) << "whole body differs (" << r.body.size() << " bytes)";
    // A range, streamed.
    got.clear();
    r = run([&]() -> awaitable<response> {
        co_return co_await client_->get_stream("s/big", sink, std::pair<std::int64_t, std::int64_t>{100, 70099});
    });
    EXPECT_EQ(r.status, 206);
    EXPECT_TRUE(got == big.substr(100, 70000));
    // A missing key: the error document, nothing handed to the sink.
    got.clear();
    r = run([&]() -> awaitable<response> { co_return co_await client_->get_stream("s/none", sink); });
    EXPECT_EQ(r.status, 404);
    EXPECT_TRUE(got.empty());
    EXPECT_NE(r.body.find("NoSuchKey"), std::string::npos) << r.body;
}

TEST_F(S3Client, UnsignedPayloadWithChecksumStoresTheSameBytes) {
    auto cfg = config_from_env(bucket_);
    cfg.sign_payload = false;
    client c(cfg, io_.get_executor());
    std::string big(300000, 'x');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
    std::vector<std::string_view> parts{std::string_view(big).substr(0, 1000),
                                        std::string_view(big).substr(1000)};
    auto r = run([&]() -> awaitable<response> { co_return co_await c.put_parts("unsigned", parts); });
    ASSERT_EQ(r.status, 200) << r.body;
    r = run([&]() -> awaitable<response> { co_return co_await c.get("unsigned"); });
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == big);
}

TEST_F(S3Client, ManyRequestsInFlightShareABoundedPool) {
    int ok = 0;
    for (int i = 0; i < 50; ++i)
        asio::co_spawn(io_, [&, i]() -> awaitable<void> {
            auto r = co_await client_->put("c/" + std::to_string(i), std::string(1000 + i, 'z'));
            if (r.status == 200) ++ok;
        }, asio::detached);
    io_.restart();
    io_.run();
    EXPECT_EQ(ok, 50);
    auto l = run([&]() -> awaitable<list_result> { co_return co_await client_->list("c/"); });
    EXPECT_EQ(l.entries.size(), 50u);
}

TEST_F(S3Client, AnUnreachableServerIsAnErrorAfterRetries) {
    auto cfg = config_from_env(bucket_);
    cfg.host = "127.0.0.1";
    cfg.port = 1;  // nothing listens there
    cfg.max_attempts = 3;
    cfg.base_backoff = std::chrono::milliseconds(1);
    client dead(cfg, io_.get_executor());
    try {
        run([&]() -> awaitable<response> { co_return co_await dead.get("x"); });
        FAIL() << "expected s3::error";
    } catch (const error& e) {
        EXPECT_EQ(e.status, 0);
        EXPECT_NE(std::string(e.what()).find("3 attempts"), std::string::npos) << e.what();
    }
    EXPECT_EQ(dead.stats().retries, 2u);
}

// Virtual-hosted addressing (the default for AWS endpoints): the bucket is named by the
// Host header, not the path. moto_server takes the bucket from a Host like
// "<bucket>.s3.hako.test"; connect_to sends the connections to it without DNS for that name.
TEST(S3VirtualHosted, TheHostNamesTheBucket) {
    std::string why;
    auto ep = testing::s3_test_endpoint(&why);
    if (ep.empty()) GTEST_SKIP() << why;
    auto port = ep.substr(ep.rfind(':') + 1);
    auto bucket = "vhost-" + std::to_string(::getpid());
    auto vcfg = config_from_env(bucket);
    vcfg.host = "s3.hako.test";
    vcfg.path_style = false;
    vcfg.connect_to = "127.0.0.1:" + port;
    asio::io_context io;
    auto run = [&io](auto f) {
        auto fut = asio::co_spawn(io, f(), asio::use_future);
        io.restart();
        io.run();
        return fut.get();
    };
    client vh(vcfg, io.get_executor());
    auto r = run([&]() -> awaitable<response> { co_return co_await vh.create_bucket(); });
    ASSERT_TRUE(r.ok()) << r.status << r.body;
    r = run([&]() -> awaitable<response> { co_return co_await vh.put("d/a b+c.bin", "virtual"); });
    ASSERT_EQ(r.status, 200) << r.body;
    r = run([&]() -> awaitable<response> {
        co_return co_await vh.put("d/a b+c.bin", "again", put_condition::if_none_match_any);
    });
    EXPECT_EQ(r.status, 412);
    r = run([&]() -> awaitable<response> { co_return co_await vh.get("d/a b+c.bin"); });
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "virtual");
    auto l = run([&]() -> awaitable<list_result> { co_return co_await vh.list("d/"); });
    ASSERT_EQ(l.entries.size(), 1u);
    EXPECT_EQ(l.entries[0].key, "d/a b+c.bin");
    // The same object through path-style addressing: the server filed it under the bucket
    // the Host header named.
    auto pcfg = config_from_env(bucket);
    client ps(pcfg, io.get_executor());
    r = run([&]() -> awaitable<response> { co_return co_await ps.get("d/a b+c.bin"); });
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "virtual");
    // Without connect_to the name must resolve: it does not, and that is an error.
    vcfg.connect_to.clear();
    vcfg.max_attempts = 1;
    client nodns(vcfg, io.get_executor());
    EXPECT_THROW(run([&]() -> awaitable<response> { co_return co_await nodns.head_bucket(); }),
                 error);
}

TEST(S3Config, FromEnvironment) {
    ::setenv("AWS_ACCESS_KEY_ID", "AK", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "SK", 1);
    ::setenv("AWS_SESSION_TOKEN", "TOK", 1);
    ::unsetenv("AWS_REGION");
    ::setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    ::unsetenv("AWS_ENDPOINT_URL");
    ::unsetenv("AWS_ENDPOINT");
    auto c = config_from_env("b");
    EXPECT_EQ(c.region, "eu-west-1");
    EXPECT_EQ(c.host, "s3.eu-west-1.amazonaws.com");
    EXPECT_EQ(c.scheme, "https");
    EXPECT_EQ(c.port, 443);
    EXPECT_FALSE(c.path_style);
    EXPECT_FALSE(c.sign_payload);  // https: CRC32C instead of a signed SHA-256
    EXPECT_EQ(c.creds.session_token, "TOK");
    ::setenv("AWS_ENDPOINT", "http://minio.local:9000/", 1);
    ::unsetenv("AWS_ALLOW_HTTP");
    EXPECT_THROW(config_from_env("b"), std::invalid_argument);
    ::setenv("AWS_ALLOW_HTTP", "true", 1);
    c = config_from_env("b");
    EXPECT_EQ(c.host, "minio.local");
    EXPECT_EQ(c.port, 9000);
    EXPECT_TRUE(c.path_style);
    EXPECT_TRUE(c.sign_payload);  // plain http: the signature covers the body
    ::setenv("AWS_ENDPOINT_URL", "https://r2.example.com", 1);
    c = config_from_env("b");
    EXPECT_EQ(c.port, 443);
    EXPECT_EQ(c.scheme, "https");
    EXPECT_FALSE(c.sign_payload);
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    EXPECT_THROW(config_from_env("b"), std::invalid_argument);
    ::unsetenv("AWS_ENDPOINT");
    ::unsetenv("AWS_ENDPOINT_URL");
    ::unsetenv("AWS_SESSION_TOKEN");
    ::unsetenv("AWS_DEFAULT_REGION");
    // restore what the server fixture set for the other tests
    std::string why;
    testing::s3_test_endpoint(&why);
}

}  // namespace
}  // namespace hako::storage::s3

namespace hako::storage::s3 {
namespace {

// HTTPS: tests/tools/s3_chaos_proxy.py serves TLS (no faults) in front of moto_server
// with a throwaway self-signed certificate for "localhost".
class S3Tls : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        auto ep = testing::s3_test_endpoint(&why);
        if (ep.empty()) GTEST_SKIP() << why;
        dir_ = ::testing::TempDir() + "hako-tls-" + std::to_string(::getpid());
        std::system(("mkdir -p " + dir_).c_str());
        for (auto [name, cn] : {std::pair{"good", "localhost"}, std::pair{"other", "not-this-host"},
                                std::pair{"wild", "*.s3.hako.test"}}) {
            auto cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=" + std::string(cn) +
                       "' -addext 'subjectAltName=DNS:" + cn + "' -keyout " + dir_ + "/" + name +
                       ".key -out " + dir_ + "/" + name + ".pem >/dev/null 2>&1";
            ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        }
        upstream_ = ep.substr(ep.find("://") + 3);
    }
    void TearDown() override {
        for (int pid : pids_) ::kill(pid, SIGTERM);
        if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
    }
    // Starts the TLS proxy with the named certificate; returns its port.
    int proxy(const std::string& cert) {
        auto out = dir_ + "/" + cert + ".port";
        auto cmd = "python3 " + std::string(HAKO_TEST_DATA) + "/../tools/s3_chaos_proxy.py --upstream " +
                   upstream_ + " --tls-cert " + dir_ + "/" + cert + ".pem --tls-key " + dir_ + "/" +
                   cert + ".key > " + out + " 2>/dev/null & echo $!";
        auto* p = ::popen(cmd.c_str(), "r");
        int pid = 0;
        if (std::fscanf(p, "%d", &pid) != 1) pid = 0;
        ::pclose(p);
        pids_.push_back(pid);
        for (int i = 0; i < 100; ++i) {
            std::FILE* f = std::fopen(out.c_str(), "r");
            int port = 0;
            if (f && std::fscanf(f, "listening on %d", &port) == 1) {
                std::fclose(f);
                return port;
            }
            if (f) std::fclose(f);
            ::usleep(50000);
        }
        return 0;
    }
    // A client config for the proxy on `port` under the name `host`, trusting `ca_file`.
    static config tls_config(const std::string& bucket, const std::string& host, int port,
                             const std::string& ca_file) {
        auto cfg = config_from_env(bucket);
        cfg.scheme = "https";
        cfg.host = host;
        cfg.port = static_cast<std::uint16_t>(port);
        cfg.ca_file = ca_file;
        return cfg;
    }
    response get_via(int port, const std::string& ca_file) {
        auto cfg = tls_config("tls-bucket", "localhost", port, ca_file);
        cfg.max_attempts = 1;
        boost::asio::io_context io;
        client c(cfg, io.get_executor());
        auto fut = boost::asio::co_spawn(io, c.head_bucket(), boost::asio::use_future);
        io.run();
        return fut.get();
    }
    std::string dir_, upstream_;
    std::vector<int> pids_;
};

// Keep-alive: the TLS proxy keeps connections open (moto_server itself closes each one), so
// sequential requests share one connection and one handshake, and concurrent ones never
// open more than max_connections.
TEST_F(S3Tls, ConnectionsAreKeptAliveAndPooled) {
    int port = proxy("good");
    ASSERT_GT(port, 0);
    auto cfg = tls_config("tls-keepalive", "localhost", port, dir_ + "/good.pem");
    cfg.max_connections = 3;
    boost::asio::io_context io;
    client c(cfg, io.get_executor());
    auto sequential = [&]() -> awaitable<void> {
        auto mk = c.create_bucket();
        co_await std::move(mk);
        for (int i = 0; i < 20; ++i) {
            auto op = c.put("k" + std::to_string(i), "v");
            auto r = co_await std::move(op);
            EXPECT_EQ(r.status, 200);
        }
        // Large bodies are read past the HTTP parser, straight into the answer: the
        // bytes must be exact and the connection left at the next answer's first byte.
        std::string big((1 << 20) + 3, '\0');
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 251);
        auto bop = c.put("big", big);
        EXPECT_EQ((co_await std::move(bop)).status, 200);
        for (int i = 0; i < 2; ++i) {
            auto gop = c.get("big");
            auto g = co_await std::move(gop);
            EXPECT_EQ(g.status, 200);
            EXPECT_TRUE(g.body == big) << "GET " << i << ": " << g.body.size() << " bytes";
        }
    };
    auto f1 = boost::asio::co_spawn(io, sequential(), boost::asio::use_future);
    io.run();
    f1.get();
    EXPECT_EQ(c.stats().requests, 24u);
    EXPECT_EQ(c.stats().connections, 1u);
    io.restart();
    std::vector<std::future<response>> many;
    for (int i = 0; i < 12; ++i)
        many.push_back(boost::asio::co_spawn(io, c.get("k" + std::to_string(i)), boost::asio::use_future));
    io.run();
    for (auto& f : many) EXPECT_EQ(f.get().status, 200);
    EXPECT_LE(c.stats().connections, 3u);
    EXPECT_GE(c.stats().connections, 2u) << "concurrent requests use more than one connection";
}

// Virtual-hosted over TLS, as on AWS: the TLS name is "<bucket>.<endpoint host>", which a
// wildcard certificate for the endpoint's subdomains covers.
TEST_F(S3Tls, VirtualHostedNameIsVerifiedAgainstAWildcardCertificate) {
    int port = proxy("wild");
    ASSERT_GT(port, 0);
    auto cfg = tls_config("tls-vhost", "s3.hako.test", port, dir_ + "/wild.pem");
    cfg.path_style = false;
    cfg.connect_to = "127.0.0.1:" + std::to_string(port);
    cfg.max_attempts = 1;
    boost::asio::io_context io;
    client c(cfg, io.get_executor());
    auto fut = boost::asio::co_spawn(io, c.create_bucket(), boost::asio::use_future);
    io.run();
    auto r = fut.get();
    EXPECT_TRUE(r.ok()) << r.status << r.body;
    // The endpoint host itself is not covered by "*.s3.hako.test": path-style is refused.
    cfg.path_style = true;
    boost::asio::io_context io2;
    client p(cfg, io2.get_executor());
    auto fut2 = boost::asio::co_spawn(io2, p.head_bucket(), boost::asio::use_future);
    io2.run();
    try {
        fut2.get();
        FAIL() << "expected a certificate error";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
    }
}

TEST_F(S3Tls, VerifiedCertificateWorks) {
    int port = proxy("good");
    ASSERT_GT(port, 0);
    auto r = get_via(port, dir_ + "/good.pem");
    EXPECT_TRUE(r.status == 200 || r.status == 404) << r.status;  // an answer over TLS
}

TEST_F(S3Tls, UntrustedCertificateIsRefused) {
    int port = proxy("good");
    ASSERT_GT(port, 0);
    try {  // self-signed: not in the system store
        get_via(port, "");
        FAIL() << "expected a certificate error";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
    }
}

TEST_F(S3Tls, CertificateForAnotherHostIsRefused) {
    int port = proxy("other");
    ASSERT_GT(port, 0);
    try {  // trusted, but issued to another host name
        get_via(port, dir_ + "/other.pem");
        FAIL() << "expected a certificate error";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace hako::storage::s3
