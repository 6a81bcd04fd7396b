#pragma once
// s3::client — our own small S3 client on the broker's event loop (issue 7).
//
// Owns a keep-alive connection pool to one endpoint (HTTP or HTTPS with certificate
// verification), signs every request with Signature Version 4 (sigv4.h), and retries
// with exponential backoff and full jitter on 5xx, 429/SlowDown, connection errors and
// timeouts. Answers that are part of a protocol (200/204/206, 304, 404, 409, 412) are
// returned to the caller, never retried or thrown.
//
// Threading: all methods are coroutines to be awaited on the executor given to the
// constructor (the broker's single io_context thread). Safe to have many requests in
// flight at once; each takes its own pooled connection.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hako::storage::s3 {

using boost::asio::awaitable;

struct credentials {
    std::string access_key;
    std::string secret_key;
    std::string session_token;  // empty: none
};

struct config {
    // Endpoint: "https://s3.eu-west-1.amazonaws.com" by default (from region), or
    // AWS_ENDPOINT_URL / AWS_ENDPOINT. http:// needs allow_http (AWS_ALLOW_HTTP=true).
    std::string scheme = "https";
    std::string host;
    std::uint16_t port = 443;
    std::string region = "us-east-1";
    std::string bucket;
    bool path_style = true;  // false: virtual-hosted (bucket.host)
    // "host:port" to open connections to instead of the address DNS gives for the request's
    // host (like curl's --connect-to); the Host header, signature and TLS name stay the
    // endpoint's. For private endpoints whose bucket names DNS does not know, and tests.
    std::string connect_to;
    // Sign request bodies' SHA-256 (x-amz-content-sha256). Off: UNSIGNED-PAYLOAD plus the
    // body's CRC32C (x-amz-checksum-crc32c), as AWS SDKs do over HTTPS; config_from_env
    // turns it off for https endpoints, where TLS protects the body.
    bool sign_payload = true;
    bool allow_http = false;
    bool verify_tls = true;
    std::string ca_file;  // empty: system default store
    credentials creds;
    std::size_t max_connections = 16;
    int max_attempts = 6;  // total tries for a retriable failure
    std::chrono::milliseconds base_backoff{50};
    std::chrono::milliseconds max_backoff{2000};
    std::chrono::milliseconds request_timeout{10000};  // per attempt, connect included
};

// Fills a config from the process environment (AWS_* variables, see README) for the
// given bucket. Throws std::invalid_argument with a message a user can act on.
config config_from_env(std::string bucket);

struct response {
    int status = 0;           // HTTP status of the final attempt
    std::string etag;         // ETag header, quotes kept, as S3 compares it
    std::string body;
    std::string last_modified;
    std::int64_t content_length = -1;
    // True when an earlier attempt of this request failed in a way that may have applied
    // it (timeout or connection lost after the request was sent, or a 5xx). A 412 on a
    // conditional write is then not proof of a lost race: the caller re-reads.
    bool ambiguous = false;
    bool ok() const { return status >= 200 && status < 300; }
};

enum class put_condition { none, if_none_match_any, if_match };

struct list_entry {
    std::string key;
    std::int64_t size = 0;
    std::string etag;
};

struct list_result {
    int status = 0;
    std::vector<list_entry> entries;  // keys in lexicographic order
    std::optional<std::string> next_token;
};

// Thrown when a request keeps failing after every retry (status 0: never answered).
struct error : std::runtime_error {
    int status;
    error(const std::string& what, int st) : std::runtime_error(what), status(st) {}
};

class client {
public:
    client(config cfg, boost::asio::any_io_executor ex);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Keys are relative to the bucket, without a leading slash; they are URI-encoded here.
    awaitable<response> get(std::string key,
                            std::optional<std::pair<std::int64_t, std::int64_t>> range = {},
                            std::string if_none_match = {});
    // Streams the body to `sink` in chunks of at most 64 KiB as it arrives, never holding
    // it whole. A transfer cut off midway is retried from where it stopped (Range, with
    // If-Match on the ETag first seen, so every chunk is of one version; a 412 then means
    // the object changed and ends the request). The response's body is empty for 200/206
    // and the server's error document otherwise.
    awaitable<response> get_stream(std::string key, std::function<void(std::string_view)> sink,
                                   std::optional<std::pair<std::int64_t, std::int64_t>> range = {});
    awaitable<response> head(std::string key);
    awaitable<response> put(std::string key, std::string body,
                            put_condition cond = put_condition::none, std::string etag = {});
    // PUT of a body given in parts, hashed and sent without concatenating them. The parts
    // must stay valid until the returned awaitable completes. `crc32c`: the body's CRC32C
    // when the caller already has it (record batches carry their own), so the unsigned
    // mode need not read the body for its checksum header; a wrong value makes S3 refuse
    // the PUT.
    awaitable<response> put_parts(std::string key, std::vector<std::string_view> parts,
                                  put_condition cond = put_condition::none, std::string etag = {},
                                  std::optional<std::uint32_t> crc32c = {});
    awaitable<response> del(std::string key, std::string if_match = {});
    // ListObjectsV2 of `prefix`, up to max_keys, after `start_after` or a continuation token.
    awaitable<list_result> list(std::string prefix, std::string start_after = {},
                                std::optional<std::string> token = {}, int max_keys = 1000);
    // Bucket-level: HEAD (exists?) and PUT (create; used by tests and `--create-bucket`).
    awaitable<response> head_bucket();
    awaitable<response> create_bucket();

    // Closes pooled connections; requests after this fail.
    void shutdown();

    struct counters {
        std::uint64_t requests = 0, retries = 0, bytes_sent = 0, bytes_received = 0;
        std::uint64_t connections = 0;  // opened (TLS handshakes included): reuse keeps it low
    };
    const counters& stats() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace hako::storage::s3
