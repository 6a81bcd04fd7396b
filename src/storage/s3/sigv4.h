#pragma once
// AWS Signature Version 4 for S3 requests: a pure function of the request, the
// credentials and the clock, so it is tested against the published AWS examples.
// Thread-safe (no state).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hako::storage::s3 {

struct credentials;

struct signing_input {
    std::string method;  // "GET", "PUT", ...
    std::string host;    // Host header value (with ":port" when not the default)
    std::string path;    // already URI-encoded, e.g. "/bucket/a%20b/c"
    std::vector<std::pair<std::string, std::string>> query;    // decoded names and values
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers to sign
    std::string payload_sha256;  // hex, or "UNSIGNED-PAYLOAD"
    std::string region;
    std::string service = "s3";
    std::string amz_date;  // "20130524T000000Z"
};

// Returns the headers to add to the request: Authorization, x-amz-date,
// x-amz-content-sha256 and (with a session token) x-amz-security-token.
// Throws std::invalid_argument on a malformed amz_date, an empty payload_sha256, or a
// header in in.headers that contradicts one of those four.
std::vector<std::pair<std::string, std::string>> sign(const signing_input& in,
                                                      const credentials& creds);

// The pieces, exposed for tests. canonical_request signs exactly the headers in `in`
// (plus host, x-amz-date, x-amz-content-sha256); sign() adds x-amz-security-token first.
std::string canonical_request(const signing_input& in);
std::string string_to_sign(const signing_input& in, std::string_view canonical);
std::string signature(const signing_input& in, const credentials& creds,
                      std::string_view string_to_sign);

std::string sha256_hex(std::string_view data);
// Of the concatenation of `parts`, without concatenating them.
std::string sha256_hex(const std::vector<std::string_view>& parts);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw bytes
// RFC 3986 encoding as SigV4 wants it: unreserved characters stay, everything else
// %XX upper-case; '/' stays when keep_slash.
std::string uri_encode(std::string_view s, bool keep_slash);
// "20130524T000000Z" for now (UTC).
std::string amz_date_now();

}  // namespace hako::storage::s3
