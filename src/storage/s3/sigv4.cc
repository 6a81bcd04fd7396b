// SigV4 signing for S3: canonical request, string to sign, HMAC chain (sigv4.h).
#include "storage/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <memory>
#include <stdexcept>

#include "storage/s3/s3_client.h"

namespace hako::storage::s3 {

namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

std::string hex(const unsigned char* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 0x0f];
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Trimmed, with every inner run of whitespace folded to one space: a proxy may re-fold
// a header value, and S3 canonicalises what it received the same way before comparing.
std::string canonical_value(std::string_view v) {
    std::string out;
    bool pending_space = false;
    for (char c : v) {
        if (is_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out += ' ';
        pending_space = false;
        out += c;
    }
    return out;
}

// The credential scope starts with the day of amz_date; a malformed date would still
// sign, then be refused by S3 with a message that points nowhere near the cause.
std::string scope(const signing_input& in) {
    const auto& d = in.amz_date;
    bool ok = d.size() == 16 && d[8] == 'T' && d[15] == 'Z' &&
              std::all_of(d.begin(), d.begin() + 8, [](char c) { return c >= '0' && c <= '9'; });
    if (!ok)
        throw std::invalid_argument("sigv4: amz_date must look like 20130524T000000Z, got '" + d +
                                    "'");
    return d.substr(0, 8) + "/" + in.region + "/" + in.service + "/aws4_request";
}

struct canonical_form {
    std::string text;
    std::string signed_headers;  // ';'-joined lower-case names, sorted
};

// Lower-case name -> canonical value, sorted by name (std::map order is byte order, which
// is what SigV4 sorts by).
std::map<std::string, std::string> header_map(const signing_input& in) {
    std::map<std::string, std::string> out;
    // A name given more than once keeps each value in order, comma-joined, as an HTTP
    // server folds repeated header lines.
    for (const auto& [name, value] : in.headers) {
        auto v = canonical_value(value);
        auto [it, fresh] = out.try_emplace(lower(name), v);
        if (!fresh) (it->second += ',') += v;
    }
    // These always take their value from signing_input; sign() returns them for the
    // request. A caller copy that disagrees would mean sending one thing and signing another.
    auto ours = [&](const std::string& name, std::string_view value) {
        auto v = canonical_value(value);
        auto [it, fresh] = out.try_emplace(name, v);
        if (!fresh && it->second != v)
            throw std::invalid_argument("sigv4: header " + name + " is '" + it->second +
                                        "' but signing_input says '" + v + "'");
    };
    ours("host", in.host);
    ours("x-amz-date", in.amz_date);
    ours("x-amz-content-sha256", in.payload_sha256);
    return out;
}

std::string canonical_query(const signing_input& in) {
    std::vector<std::pair<std::string, std::string>> q;
    q.reserve(in.query.size());
    for (const auto& [name, value] : in.query)
        q.emplace_back(uri_encode(name, false), uri_encode(value, false));
    // Sorted after encoding: the order S3 recomputes from the wire, where only the
    // encoded bytes exist.
    std::sort(q.begin(), q.end());
    std::string out;
    for (const auto& [name, value] : q) {
        if (!out.empty()) out += '&';
        out += name;
        out += '=';
        out += value;
    }
    return out;
}

canonical_form build(const signing_input& in) {
    if (in.payload_sha256.empty())
        throw std::invalid_argument(
            "sigv4: payload_sha256 must be a hex digest or UNSIGNED-PAYLOAD");
    canonical_form f;
    auto& t = f.text;
    t += in.method;
    t += '\n';
    t += in.path.empty() ? "/" : in.path;
    t += '\n';
    t += canonical_query(in);
    t += '\n';
    for (const auto& [name, value] : header_map(in)) {
        t += name;
        t += ':';
        t += value;
        t += '\n';
        if (!f.signed_headers.empty()) f.signed_headers += ';';
        f.signed_headers += name;
    }
    t += '\n';
    t += f.signed_headers;
    t += '\n';
    t += in.payload_sha256;
    return f;
}

const std::pair<std::string, std::string>* find_header(const signing_input& in,
                                                       std::string_view lower_name) {
    for (const auto& h : in.headers)
        if (lower(h.first) == lower_name) return &h;
    return nullptr;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("sigv4: SHA-256 failed");
    return hex(md, n);
}

std::string sha256_hex(const std::vector<std::string_view>& parts) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
    for (auto part : parts) ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
    if (!ok || EVP_DigestFinal_ex(ctx.get(), md, &n) != 1)
        throw std::runtime_error("sigv4: SHA-256 failed");
    return hex(md, n);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &n))
        throw std::runtime_error("sigv4: HMAC-SHA256 failed");
    return std::string(reinterpret_cast<const char*>(md), n);
}

std::string uri_encode(std::string_view s, bool keep_slash) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved || (keep_slash && c == '/')) {
            out += ch;
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 0x0f];
        }
    }
    return out;
}

std::string canonical_request(const signing_input& in) {
    return build(in).text;
}

std::string string_to_sign(const signing_input& in, std::string_view canonical) {
    std::string out(algorithm);
    out += '\n';
    out += in.amz_date;
    out += '\n';
    out += scope(in);
    out += '\n';
    out += sha256_hex(canonical);
    return out;
}

std::string signature(const signing_input& in, const credentials& creds,
                      std::string_view string_to_sign) {
    scope(in);  // validates amz_date before it is cut below
    std::string key = hmac_sha256("AWS4" + creds.secret_key, in.amz_date.substr(0, 8));
    key = hmac_sha256(key, in.region);
    key = hmac_sha256(key, in.service);
    key = hmac_sha256(key, "aws4_request");
    auto mac = hmac_sha256(key, string_to_sign);
    return hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

std::vector<std::pair<std::string, std::string>> sign(const signing_input& in,
                                                      const credentials& creds) {
    // The token is a credential, not part of signing_input, yet it must be signed: add it
    // to a copy's headers unless the caller already put it there.
    const signing_input* use = &in;
    signing_input with_token;
    if (!creds.session_token.empty()) {
        if (auto* h = find_header(in, "x-amz-security-token")) {
            if (canonical_value(h->second) != canonical_value(creds.session_token))
                throw std::invalid_argument(
                    "sigv4: x-amz-security-token header differs from the session token");
        } else {
            with_token = in;
            with_token.headers.emplace_back("x-amz-security-token", creds.session_token);
            use = &with_token;
        }
    }
    auto form = build(*use);
    auto sig = signature(*use, creds, string_to_sign(*use, form.text));

    std::string auth(algorithm);
    auth += " Credential=" + creds.access_key + "/" + scope(*use);
    auth += ", SignedHeaders=" + form.signed_headers;
    auth += ", Signature=" + sig;

    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("Authorization", std::move(auth));
    out.emplace_back("x-amz-date", in.amz_date);
    out.emplace_back("x-amz-content-sha256", in.payload_sha256);
    if (!creds.session_token.empty()) out.emplace_back("x-amz-security-token", creds.session_token);
    return out;
}

std::string amz_date_now() {
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char buf[17];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &utc);
    return buf;
}

}  // namespace hako::storage::s3
