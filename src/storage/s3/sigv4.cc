// AWS Signature Version 4 (sigv4.h): canonical request, string to sign, signature.
#include "storage/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>

#include "storage/s3/s3_client.h"

namespace hako::storage::s3 {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    return out;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Header values: trimmed, inner runs of spaces collapsed to one (SigV4's "Trimall").
std::string trim_all(std::string_view v) {
    std::string out;
    bool space = false;
    for (char c : v) {
        if (c == ' ' || c == '\t') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> all_headers(const signing_input& in,
                                                             const credentials& creds) {
    std::vector<std::pair<std::string, std::string>> h;
    h.emplace_back("host", in.host);
    h.emplace_back("x-amz-content-sha256", in.payload_sha256);
    h.emplace_back("x-amz-date", in.amz_date);
    if (!creds.session_token.empty()) h.emplace_back("x-amz-security-token", creds.session_token);
    for (const auto& [k, v] : in.headers) {
        auto name = lower(k);
        auto it = std::find_if(h.begin(), h.end(), [&](const auto& e) { return e.first == name; });
        if (it != h.end())
            it->second = v;
        else
            h.emplace_back(name, v);
    }
    std::sort(h.begin(), h.end());
    return h;
}

std::string scope(const signing_input& in) {
    return in.amz_date.substr(0, 8) + "/" + in.region + "/" + in.service + "/aws4_request";
}

std::string canonical(const signing_input& in, const credentials& creds,
                      std::string* signed_names) {
    std::string out = in.method + "\n" + in.path + "\n";
    std::vector<std::pair<std::string, std::string>> q;
    for (const auto& [k, v] : in.query) q.emplace_back(uri_encode(k, false), uri_encode(v, false));
    std::sort(q.begin(), q.end());
    for (std::size_t i = 0; i < q.size(); ++i) {
        if (i) out += '&';
        out += q[i].first + "=" + q[i].second;
    }
    out += '\n';
    std::string names;
    for (const auto& [k, v] : all_headers(in, creds)) {
        out += k + ":" + trim_all(v) + "\n";
        if (!names.empty()) names += ';';
        names += k;
    }
    out += "\n" + names + "\n" + in.payload_sha256;
    if (signed_names) *signed_names = names;
    return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr))
        throw std::runtime_error("sha256 failed");
    return hex(md, n);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &n))
        throw std::runtime_error("hmac-sha256 failed");
    return std::string(reinterpret_cast<const char*>(md), n);
}

std::string uri_encode(std::string_view s, bool keep_slash) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

std::string amz_date_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

std::string canonical_request(const signing_input& in) {
    return canonical(in, credentials{}, nullptr);
}

std::string string_to_sign(const signing_input& in, std::string_view canonical_text) {
    return "AWS4-HMAC-SHA256\n" + in.amz_date + "\n" + scope(in) + "\n" +
           sha256_hex(canonical_text);
}

std::string signature(const signing_input& in, const credentials& creds,
                      std::string_view to_sign) {
    auto k = hmac_sha256("AWS4" + creds.secret_key, in.amz_date.substr(0, 8));
    k = hmac_sha256(k, in.region);
    k = hmac_sha256(k, in.service);
    k = hmac_sha256(k, "aws4_request");
    auto sig = hmac_sha256(k, to_sign);
    return hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

std::vector<std::pair<std::string, std::string>> sign(const signing_input& in,
                                                      const credentials& creds) {
    std::string names;
    auto creq = canonical(in, creds, &names);
    auto sig = signature(in, creds, string_to_sign(in, creq));
    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + creds.access_key + "/" +
                                          scope(in) + ", SignedHeaders=" + names +
                                          ", Signature=" + sig);
    out.emplace_back("x-amz-date", in.amz_date);
    out.emplace_back("x-amz-content-sha256", in.payload_sha256);
    if (!creds.session_token.empty()) out.emplace_back("x-amz-security-token", creds.session_token);
    return out;
}

}  // namespace hako::storage::s3
