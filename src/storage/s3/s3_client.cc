// s3::client (s3_client.h): HTTP/1.1 over Beast, keep-alive pool, SigV4, retries.
#include "storage/s3/s3_client.h"

#include <openssl/ssl.h>

#include <boost/asio/read.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <deque>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <unordered_set>
#include <variant>

#include "protocol/crc32c.h"
#include "storage/base64.h"
#include "storage/s3/sigv4.h"

namespace hako::storage::s3 {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t body_limit = 512u << 20;
// Bodies this large (and of known length) are read without the HTTP parser's buffer.
constexpr std::uint64_t direct_body_min = 64u << 10;

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

bool truthy(std::string v) {
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v == "1" || v == "true" || v == "yes" || v == "on";
}

// Undoes the five XML entities S3 uses in listings (keys may contain & < > " ').
std::string xml_unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '&') {
            out += s[i];
            continue;
        }
        auto end = s.find(';', i);
        auto ent = s.substr(i + 1, end == std::string_view::npos ? 0 : end - i - 1);
        if (ent == "amp") out += '&';
        else if (ent == "lt") out += '<';
        else if (ent == "gt") out += '>';
        else if (ent == "quot") out += '"';
        else if (ent == "apos") out += '\'';
        else if (!ent.empty() && ent[0] == '#') {
            unsigned long cp = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                                   ? std::stoul(std::string(ent.substr(2)), nullptr, 16)
                                   : std::stoul(std::string(ent.substr(1)));
            if (cp < 0x80) {
                out += static_cast<char>(cp);
            } else if (cp < 0x800) {
                out += static_cast<char>(0xc0 | (cp >> 6));
                out += static_cast<char>(0x80 | (cp & 0x3f));
            } else {
                out += static_cast<char>(0xe0 | (cp >> 12));
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
                out += static_cast<char>(0x80 | (cp & 0x3f));
            }
        } else {
            out += s.substr(i, end - i + 1);
        }
        i = end;
    }
    return out;
}

// The text of the first <tag>…</tag> in `s` from `pos`, or nullopt.
std::optional<std::string_view> xml_tag(std::string_view s, std::string_view tag,
                                        std::size_t pos = 0) {
    auto open = "<" + std::string(tag) + ">";
    auto close = "</" + std::string(tag) + ">";
    auto a = s.find(open, pos);
    if (a == std::string_view::npos) return std::nullopt;
    a += open.size();
    auto b = s.find(close, a);
    if (b == std::string_view::npos) return std::nullopt;
    return s.substr(a, b - a);
}

bool retriable_status(int status) { return status >= 500 || status == 429; }

}  // namespace

config config_from_env(std::string bucket) {
    config c;
    c.bucket = std::move(bucket);
    c.creds.access_key = env("AWS_ACCESS_KEY_ID");
    c.creds.secret_key = env("AWS_SECRET_ACCESS_KEY");
    c.creds.session_token = env("AWS_SESSION_TOKEN");
    if (c.creds.access_key.empty() || c.creds.secret_key.empty())
        throw std::invalid_argument(
            "s3://: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for "
            "temporary credentials)");
    c.region = env("AWS_REGION");
    if (c.region.empty()) c.region = env("AWS_DEFAULT_REGION");
    if (c.region.empty()) c.region = "us-east-1";
    c.allow_http = truthy(env("AWS_ALLOW_HTTP"));
    auto endpoint = env("AWS_ENDPOINT_URL");
    if (endpoint.empty()) endpoint = env("AWS_ENDPOINT");
    if (endpoint.empty()) {
        c.scheme = "https";
        c.host = "s3." + c.region + ".amazonaws.com";
        c.port = 443;
        c.path_style = false;
        c.sign_payload = false;  // https: TLS protects the body, CRC32C checks it
        return c;
    }
    auto sep = endpoint.find("://");
    if (sep == std::string::npos)
        throw std::invalid_argument("AWS_ENDPOINT_URL '" + endpoint +
                                    "' needs a scheme: http://host:port or https://host");
    c.scheme = endpoint.substr(0, sep);
    if (c.scheme != "http" && c.scheme != "https")
        throw std::invalid_argument("AWS_ENDPOINT_URL: scheme must be http or https, not '" +
                                    c.scheme + "'");
    if (c.scheme == "http" && !c.allow_http)
        throw std::invalid_argument("AWS_ENDPOINT_URL '" + endpoint +
                                    "' is plain http: set AWS_ALLOW_HTTP=true to allow it");
    auto rest = endpoint.substr(sep + 3);
    rest = rest.substr(0, rest.find('/'));
    auto colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find(']') == std::string::npos) {
        c.host = rest.substr(0, colon);
        c.port = static_cast<std::uint16_t>(std::stoi(rest.substr(colon + 1)));
    } else {
        c.host = rest;
        c.port = c.scheme == "https" ? 443 : 80;
    }
    if (c.host.empty()) throw std::invalid_argument("AWS_ENDPOINT_URL '" + endpoint + "' has no host");
    c.path_style = true;
    c.sign_payload = c.scheme != "https";
    return c;
}

// One pooled connection: plain TCP or TLS over TCP.
struct connection {
    std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>> stream;
    beast::flat_buffer buffer;
    explicit connection(beast::tcp_stream s) : stream(std::move(s)) {}
    connection(beast::tcp_stream s, asio::ssl::context& ctx)
        : stream(std::in_place_type<beast::ssl_stream<beast::tcp_stream>>, std::move(s), ctx) {}
    beast::tcp_stream& tcp() {
        if (auto* p = std::get_if<beast::tcp_stream>(&stream)) return *p;
        return beast::get_lowest_layer(std::get<1>(stream));
    }
};

struct client::impl {
    config cfg;
    asio::any_io_executor ex;
    asio::ssl::context tls{asio::ssl::context::tls_client};
    std::vector<std::unique_ptr<connection>> idle;
    std::unordered_set<connection*> busy;  // lent to a request: shutdown() cancels their I/O
    std::size_t open = 0;
    std::deque<asio::steady_timer*> waiters;
    counters stats;
    bool closed = false;
    std::mt19937_64 rng{std::random_device{}()};
    std::string host_header;

    impl(config c, asio::any_io_executor e) : cfg(std::move(c)), ex(std::move(e)) {
        if (cfg.scheme == "https") {
            if (cfg.verify_tls) {
                tls.set_verify_mode(asio::ssl::verify_peer);
                if (cfg.ca_file.empty())
                    tls.set_default_verify_paths();
                else
                    tls.load_verify_file(cfg.ca_file);
            } else {
                tls.set_verify_mode(asio::ssl::verify_none);
            }
        }
        std::string h = cfg.path_style ? cfg.host : cfg.bucket + "." + cfg.host;
        bool default_port = (cfg.scheme == "https" && cfg.port == 443) ||
                            (cfg.scheme == "http" && cfg.port == 80);
        host_header = default_port ? h : h + ":" + std::to_string(cfg.port);
    }

    std::string connect_host() const {
        return cfg.path_style ? cfg.host : cfg.bucket + "." + cfg.host;
    }

    // Where connections go: the request's host, or cfg.connect_to ("host:port", "[v6]:port").
    std::pair<std::string, std::string> connect_address(const std::string& host) const {
        if (cfg.connect_to.empty()) return {host, std::to_string(cfg.port)};
        auto colon = cfg.connect_to.rfind(':');
        auto h = cfg.connect_to.substr(0, colon);
        if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
        return {h, cfg.connect_to.substr(colon + 1)};
    }

    awaitable<std::unique_ptr<connection>> connect() {
        tcp::resolver resolver(ex);
        auto host = connect_host();
        auto [to_host, to_port] = connect_address(host);
        auto op = resolver.async_resolve(to_host, to_port, asio::use_awaitable);
        auto results = co_await std::move(op);
        beast::tcp_stream s(ex);
        s.expires_after(cfg.request_timeout);
        auto cop = s.async_connect(results, asio::use_awaitable);
        co_await std::move(cop);
        s.socket().set_option(tcp::no_delay(true));
        if (cfg.scheme != "https") co_return std::make_unique<connection>(std::move(s));
        auto c = std::make_unique<connection>(std::move(s), tls);
        auto& ssl = std::get<1>(c->stream);
        if (!SSL_set_tlsext_host_name(ssl.native_handle(), host.c_str()))
            throw std::runtime_error("TLS: cannot set SNI host name " + host);
        if (cfg.verify_tls) ssl.set_verify_callback(asio::ssl::host_name_verification(host));
        auto hop = ssl.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
        co_await std::move(hop);
        co_return c;
    }

    // A pooled connection (reused = true) or a new one, at most max_connections open.
    awaitable<std::pair<std::unique_ptr<connection>, bool>> acquire() {
        for (;;) {
            if (closed) throw error("s3 client is shut down", 0);
            if (!idle.empty()) {
                auto c = std::move(idle.back());
                idle.pop_back();
                busy.insert(c.get());
                co_return std::pair{std::move(c), true};
            }
            if (open < cfg.max_connections) {
                ++open;
                try {
                    auto op = connect();
                    auto c = co_await std::move(op);
                    ++stats.connections;
                    if (closed) throw error("s3 client is shut down", 0);  // while connecting
                    busy.insert(c.get());
                    co_return std::pair{std::move(c), false};
                } catch (...) {
                    --open;
                    wake_one();
                    throw;
                }
            }
            asio::steady_timer t(ex, std::chrono::hours(1));
            waiters.push_back(&t);
            boost::system::error_code ec;
            auto op = t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            co_await std::move(op);
            std::erase(waiters, &t);
        }
    }

    void wake_one() {
        if (!waiters.empty()) {
            waiters.front()->cancel();
            waiters.pop_front();
        }
    }

    void release(std::unique_ptr<connection> c, bool reusable) {
        busy.erase(c.get());
        if (reusable && !closed) {
            idle.push_back(std::move(c));
        } else {
            boost::system::error_code ec;
            c->tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
            c->tcp().close();
            --open;
        }
        wake_one();
    }

    struct request_spec {
        http::verb method;
        std::string target_path;  // encoded path, e.g. /bucket/key
        std::vector<std::pair<std::string, std::string>> query;
        std::vector<std::pair<std::string, std::string>> headers;
        std::string body;
        bool head = false;
    };

    // Streaming, per request (kept across its attempts): a body sent from parts, and a
    // response body handed to a sink as it arrives (resumed by Range after a cut).
    struct transfer {
        std::vector<std::string_view> parts;  // request body, instead of spec.body
        std::function<void(std::string_view)> sink;
        std::optional<std::pair<std::int64_t, std::int64_t>> range;  // asked for, with sink
        std::int64_t delivered = 0;  // bytes given to the sink
        std::string etag;            // of the version being streamed
        std::optional<std::uint32_t> crc32c;  // of the parts, when the caller knows it
    };

    struct attempt_result {
        response resp;
        bool failed = false;       // no HTTP answer
        bool maybe_sent = false;   // the request may have reached the server
        std::string what;
    };

    // Writes the request (header, then the body from spec.body or x.parts, gathered) and
    // reads the answer: whole into a string, or — with x.sink and a 2xx status — in chunks
    // of at most 64 KiB handed to the sink as they arrive.
    template <class Stream>
    awaitable<http::response<http::empty_body>> exchange(Stream& s, connection& c,
                                                http::request<http::empty_body>& req,
                                                std::string_view body, transfer& x,
                                                bool head, bool& sent, std::string& out_body) {
        http::request_serializer<http::empty_body> sr{req};
        auto hop = http::async_write_header(s, sr, asio::use_awaitable);
        co_await std::move(hop);
        std::vector<asio::const_buffer> bufs;
        if (!x.parts.empty()) {
            for (auto part : x.parts)
                if (!part.empty()) bufs.emplace_back(part.data(), part.size());
        } else if (!body.empty()) {
            bufs.emplace_back(body.data(), body.size());
        }
        if (!bufs.empty()) {
            auto bop = asio::async_write(s, bufs, asio::use_awaitable);
            co_await std::move(bop);
        }
        sent = true;
        if (!x.sink) {
            http::response_parser<http::string_body> parser;
            parser.body_limit(body_limit);
            if (head) parser.skip(true);
            auto header_op = http::async_read_header(s, c.buffer, parser, asio::use_awaitable);
            co_await std::move(header_op);
            const auto status = parser.get().result_int();
            const auto length = parser.content_length();
            if (!head && status / 100 == 2 && length && *length >= direct_body_min &&
                *length <= body_limit && !parser.chunked()) {
                // An object body (the engine's GETs): read straight into the string it
                // is returned in — one kernel copy — instead of through the parser's
                // buffer in 64 KiB steps (its copies were ~12% of a consuming broker).
                out_body.resize(static_cast<std::size_t>(*length));
                const auto have = std::min(c.buffer.size(), out_body.size());
                asio::buffer_copy(asio::buffer(out_body.data(), have), c.buffer.data());
                c.buffer.consume(have);
                if (have < out_body.size()) {
                    auto body_op = asio::async_read(
                        s, asio::buffer(out_body.data() + have, out_body.size() - have),
                        asio::use_awaitable);
                    co_await std::move(body_op);
                }
                co_return http::response<http::empty_body>(std::move(parser.get().base()));
            }
            auto rop = http::async_read(s, c.buffer, parser, asio::use_awaitable);
            co_await std::move(rop);
            out_body = std::move(parser.get().body());
            co_return http::response<http::empty_body>(std::move(parser.get().base()));
        }
        http::response_parser<http::buffer_body> parser;
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // the sink decides
        auto rh = http::async_read_header(s, c.buffer, parser, asio::use_awaitable);
        co_await std::move(rh);
        const auto status = parser.get().result_int();
        const bool to_sink = status == 200 || status == 206;
        // A resumed request answered 200 (Range ignored) repeats what was delivered.
        std::int64_t skip = (status == 200 && x.delivered > 0) ? x.delivered : 0;
        if (to_sink && x.delivered == 0)
            if (auto it = parser.get().find(http::field::etag); it != parser.get().end())
                x.etag = std::string(it->value());
        std::vector<char> chunk(64 * 1024);
        while (!parser.is_done()) {
            parser.get().body().data = chunk.data();
            parser.get().body().size = chunk.size();
            boost::system::error_code ec;
            auto rop = http::async_read(s, c.buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
            co_await std::move(rop);
            if (ec == http::error::need_buffer) ec = {};
            // Bytes read before a cut are delivered too: the resume starts after them.
            std::string_view got(chunk.data(), chunk.size() - parser.get().body().size);
            stats.bytes_received += got.size();
            if (!to_sink) {
                if (ec) throw boost::system::system_error(ec);
                if (out_body.size() + got.size() > body_limit) throw std::runtime_error("error body too large");
                out_body += got;
                continue;
            }
            if (skip > 0) {
                auto n = std::min<std::int64_t>(skip, static_cast<std::int64_t>(got.size()));
                got.remove_prefix(static_cast<std::size_t>(n));
                skip -= n;
            }
            if (!got.empty()) {
                x.delivered += static_cast<std::int64_t>(got.size());
                x.sink(got);
            }
            if (ec) throw boost::system::system_error(ec);
        }
        co_return http::response<http::empty_body>(std::move(parser.get().base()));
    }

    awaitable<attempt_result> attempt(const request_spec& spec, const std::string& payload_sha256,
                                      transfer& x) {
        attempt_result out;
        for (int fresh_tries = 0;; ++fresh_tries) {
            std::unique_ptr<connection> c;
            bool reused = false;
            try {
                auto op = acquire();
                auto got = co_await std::move(op);
                c = std::move(got.first);
                reused = got.second;
            } catch (const error&) {
                throw;
            } catch (const std::exception& e) {
                out.failed = true;
                out.what = std::string("connect to ") + cfg.host + ": " + e.what();
                co_return out;
            }
            std::string target = spec.target_path;
            for (std::size_t i = 0; i < spec.query.size(); ++i) {
                target += i ? '&' : '?';
                target += uri_encode(spec.query[i].first, false);
                target += '=';
                target += uri_encode(spec.query[i].second, false);
            }
            // The body goes to the socket from the caller's buffers (gathered): a
            // multi-megabyte object is neither copied per attempt nor re-hashed.
            http::request<http::empty_body> req{spec.method, target, 11};
            req.set(http::field::host, host_header);
            req.set(http::field::user_agent, "hako");
            auto headers = spec.headers;
            if (x.sink && (x.range || x.delivered > 0)) {
                // Resume after a cut: the rest of what was asked, of the same version.
                auto from = (x.range ? x.range->first : 0) + x.delivered;
                headers.emplace_back("Range", "bytes=" + std::to_string(from) + "-" +
                                                  (x.range ? std::to_string(x.range->second) : ""));
                if (x.delivered > 0 && !x.etag.empty()) headers.emplace_back("If-Match", x.etag);
            }
            signing_input in;
            in.method = std::string(http::to_string(spec.method));
            in.host = host_header;
            in.path = spec.target_path;
            in.query = spec.query;
            in.headers = headers;
            in.payload_sha256 = payload_sha256;
            in.region = cfg.region;
            in.amz_date = amz_date_now();
            for (const auto& [k, v] : headers) req.set(k, v);
            for (const auto& [k, v] : sign(in, cfg.creds)) req.set(k, v);
            std::size_t body_size = spec.body.size();
            if (!x.parts.empty()) {
                body_size = 0;
                for (auto part : x.parts) body_size += part.size();
            }
            if (body_size > 0 || spec.method == http::verb::put) req.content_length(body_size);
            req.keep_alive(true);
            bool sent = false;
            try {
                c->tcp().expires_after(cfg.request_timeout);
                http::response<http::empty_body> res;
                std::string res_body;
                if (auto* p = std::get_if<beast::tcp_stream>(&c->stream)) {
                    auto op = exchange(*p, *c, req, spec.body, x, spec.head, sent, res_body);
                    res = co_await std::move(op);
                } else {
                    auto op = exchange(std::get<1>(c->stream), *c, req, spec.body, x, spec.head,
                                       sent, res_body);
                    res = co_await std::move(op);
                }
                c->tcp().expires_never();
                ++stats.requests;
                stats.bytes_sent += body_size;
                if (!x.sink) stats.bytes_received += res_body.size();
                out.resp.status = static_cast<int>(res.result_int());
                if (auto it = res.find(http::field::etag); it != res.end())
                    out.resp.etag = std::string(it->value());
                if (auto it = res.find(http::field::last_modified); it != res.end())
                    out.resp.last_modified = std::string(it->value());
                if (auto it = res.find(http::field::content_length); it != res.end())
                    out.resp.content_length = std::atoll(std::string(it->value()).c_str());
                bool keep = res.keep_alive();
                out.resp.body = std::move(res_body);
                release(std::move(c), keep);
                co_return out;
            } catch (const std::exception& e) {
                release(std::move(c), false);
                // A pooled connection the server closed while idle fails at once: try a
                // fresh one without counting an attempt (still ambiguous if it was sent).
                out.maybe_sent = out.maybe_sent || sent;
                if (reused && fresh_tries < 2) continue;
                out.failed = true;
                out.what = e.what();
                co_return out;
            }
        }
    }

    awaitable<void> backoff(int attempt_no) {
        auto cap = std::min<std::int64_t>(cfg.max_backoff.count(),
                                          cfg.base_backoff.count() << std::min(attempt_no, 20));
        std::uniform_int_distribution<std::int64_t> d(0, std::max<std::int64_t>(cap, 1));
        asio::steady_timer t(ex, std::chrono::milliseconds(d(rng)));
        boost::system::error_code ec;
        auto op = t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        co_await std::move(op);
    }

    // The body's SHA-256 for the signature, or (cfg.sign_payload off) UNSIGNED-PAYLOAD
    // with the body's CRC32C in x-amz-checksum-crc32c, which the server checks: the bytes
    // are still verified, for a fraction of the hashing (TLS protects them in transit).
    std::string payload_hash(request_spec& spec, const transfer& x) const {
        std::size_t size = spec.body.size();
        for (auto p : x.parts) size += p.size();
        if (cfg.sign_payload || size == 0)
            return x.parts.empty() ? sha256_hex(spec.body) : sha256_hex(x.parts);
        std::uint32_t crc = 0;
        if (x.crc32c && spec.body.empty()) {
            crc = *x.crc32c;
        } else {
            crc = protocol::crc32c(spec.body);
            for (auto p : x.parts) crc = protocol::crc32c(p, crc);
        }
        const char be[4] = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16),
                            static_cast<char>(crc >> 8), static_cast<char>(crc)};
        spec.headers.emplace_back("x-amz-checksum-crc32c", base64_encode(std::string_view(be, 4)));
        return "UNSIGNED-PAYLOAD";
    }

    awaitable<response> run(request_spec spec) { return run(std::move(spec), transfer{}); }
    awaitable<response> run(request_spec spec, transfer x) {
        const auto payload_sha256 = payload_hash(spec, x);
        bool ambiguous = false;
        std::string last;
        for (int i = 0; i < cfg.max_attempts; ++i) {
            if (i > 0) {
                ++stats.retries;
                auto op = backoff(i);
                co_await std::move(op);
            }
            auto op = attempt(spec, payload_sha256, x);
            auto r = co_await std::move(op);
            if (!r.failed && !retriable_status(r.resp.status)) {
                r.resp.ambiguous = ambiguous;
                co_return std::move(r.resp);
            }
            if (r.failed) {
                ambiguous = ambiguous || r.maybe_sent;
                last = r.what;
            } else {
                ambiguous = true;  // a 5xx may come after the change was applied
                last = "HTTP " + std::to_string(r.resp.status) + " " +
                       std::string(xml_tag(r.resp.body, "Code").value_or(""));
            }
            if (i + 1 == cfg.max_attempts) {
                throw error("S3 " + std::string(http::to_string(spec.method)) + " " +
                                spec.target_path + " failed after " +
                                std::to_string(cfg.max_attempts) + " attempts: " + last,
                            r.failed ? 0 : r.resp.status);
            }
        }
        throw error("S3 request not attempted", 0);
    }

    std::string path_for(const std::string& key) const {
        auto enc = uri_encode(key, true);
        return cfg.path_style ? "/" + cfg.bucket + "/" + enc : "/" + enc;
    }
    std::string bucket_path() const { return cfg.path_style ? "/" + cfg.bucket : "/"; }
};

client::client(config cfg, asio::any_io_executor ex)
    : impl_(std::make_unique<impl>(std::move(cfg), std::move(ex))) {}

client::~client() = default;

awaitable<response> client::get(std::string key,
                                std::optional<std::pair<std::int64_t, std::int64_t>> range,
                                std::string if_none_match) {
    impl::request_spec s{http::verb::get, impl_->path_for(key), {}, {}, {}, false};
    if (range)
        s.headers.emplace_back("Range", "bytes=" + std::to_string(range->first) + "-" +
                                            std::to_string(range->second));
    if (!if_none_match.empty()) s.headers.emplace_back("If-None-Match", if_none_match);
    auto op = impl_->run(std::move(s));
    co_return co_await std::move(op);
}

awaitable<response> client::get_stream(std::string key,
                                       std::function<void(std::string_view)> sink,
                                       std::optional<std::pair<std::int64_t, std::int64_t>> range) {
    impl::request_spec s{http::verb::get, impl_->path_for(key), {}, {}, {}, false};
    impl::transfer x;
    x.sink = std::move(sink);
    x.range = range;
    auto op = impl_->run(std::move(s), std::move(x));
    co_return co_await std::move(op);
}

awaitable<response> client::put_parts(std::string key, std::vector<std::string_view> parts,
                                      put_condition cond, std::string etag,
                                      std::optional<std::uint32_t> crc32c) {
    impl::request_spec s{http::verb::put, impl_->path_for(key), {}, {}, {}, false};
    s.headers.emplace_back("Content-Type", "application/octet-stream");
    if (cond == put_condition::if_none_match_any) s.headers.emplace_back("If-None-Match", "*");
    if (cond == put_condition::if_match) s.headers.emplace_back("If-Match", etag);
    impl::transfer x;
    x.parts = std::move(parts);
    x.crc32c = crc32c;
    auto op = impl_->run(std::move(s), std::move(x));
    co_return co_await std::move(op);
}

awaitable<response> client::head(std::string key) {
    impl::request_spec s{http::verb::head, impl_->path_for(key), {}, {}, {}, true};
    auto op = impl_->run(std::move(s));
    co_return co_await std::move(op);
}

awaitable<response> client::put(std::string key, std::string body, put_condition cond,
                                std::string etag) {
    impl::request_spec s{http::verb::put, impl_->path_for(key), {}, {}, std::move(body), false};
    s.headers.emplace_back("Content-Type", "application/octet-stream");
    if (cond == put_condition::if_none_match_any) s.headers.emplace_back("If-None-Match", "*");
    if (cond == put_condition::if_match) s.headers.emplace_back("If-Match", etag);
    auto op = impl_->run(std::move(s));
    co_return co_await std::move(op);
}

awaitable<response> client::del(std::string key, std::string if_match) {
    impl::request_spec s{http::verb::delete_, impl_->path_for(key), {}, {}, {}, false};
    if (!if_match.empty()) s.headers.emplace_back("If-Match", if_match);
    auto op = impl_->run(std::move(s));
    co_return co_await std::move(op);
}

awaitable<list_result> client::list(std::string prefix, std::string start_after,
                                    std::optional<std::string> token, int max_keys) {
    impl::request_spec s{http::verb::get, impl_->bucket_path(), {}, {}, {}, false};
    s.query.emplace_back("list-type", "2");
    if (token) s.query.emplace_back("continuation-token", *token);
    s.query.emplace_back("max-keys", std::to_string(max_keys));
    s.query.emplace_back("prefix", prefix);
    if (!start_after.empty()) s.query.emplace_back("start-after", start_after);
    std::sort(s.query.begin(), s.query.end());
    auto op = impl_->run(std::move(s));
    auto r = co_await std::move(op);
    list_result out;
    out.status = r.status;
    if (!r.ok()) co_return out;
    std::string_view body = r.body;
    std::size_t pos = 0;
    for (;;) {
        auto a = body.find("<Contents>", pos);
        if (a == std::string_view::npos) break;
        auto b = body.find("</Contents>", a);
        auto item = body.substr(a, b - a);
        list_entry e;
        e.key = xml_unescape(xml_tag(item, "Key").value_or(""));
        e.size = std::atoll(std::string(xml_tag(item, "Size").value_or("0")).c_str());
        e.etag = xml_unescape(xml_tag(item, "ETag").value_or(""));
        out.entries.push_back(std::move(e));
        pos = b;
    }
    if (xml_tag(body, "IsTruncated").value_or("false") == "true")
        if (auto t = xml_tag(body, "NextContinuationToken")) out.next_token = xml_unescape(*t);
    co_return out;
}

awaitable<response> client::head_bucket() {
    impl::request_spec s{http::verb::head, impl_->bucket_path(), {}, {}, {}, true};
    auto op = impl_->run(std::move(s));
    co_return co_await std::move(op);
}

awaitable<response> client::create_bucket() {
    std::string body;
    if (impl_->cfg.region != "us-east-1")
        body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
               "<LocationConstraint>" + impl_->cfg.region +
               "</LocationConstraint></CreateBucketConfiguration>";
    impl::request_spec s{http::verb::put, impl_->bucket_path(), {}, {}, std::move(body), false};
    auto op = impl_->run(std::move(s));
    co_return co_await std::move(op);
}

void client::shutdown() {
    impl_->closed = true;
    for (auto& c : impl_->idle) {
        boost::system::error_code ec;
        c->tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
        c->tcp().close();
        --impl_->open;
    }
    impl_->idle.clear();
    // A request still in flight (a stopping broker's last checkpoint against a server that
    // does not answer) ends now instead of after its timeout; its retry finds the client
    // shut down.
    for (auto* c : impl_->busy) c->tcp().cancel();
    while (!impl_->waiters.empty()) impl_->wake_one();
}

const client::counters& client::stats() const { return impl_->stats; }

}  // namespace hako::storage::s3
