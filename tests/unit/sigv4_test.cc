// SigV4 against the examples AWS publishes for S3 ("Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk"): credentials
// AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, bucket examplebucket,
// us-east-1, 20130524T000000Z. Expected signatures are the published ones.
#include <gtest/gtest.h>

#include "storage/s3/s3_client.h"
#include "storage/s3/sigv4.h"

namespace hako::storage::s3 {
namespace {

const credentials example_creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const std::string empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

signing_input example(std::string method, std::string path,
                      std::vector<std::pair<std::string, std::string>> query = {}) {
    signing_input in;
    in.method = std::move(method);
    in.host = "examplebucket.s3.amazonaws.com";
    in.path = std::move(path);
    in.query = std::move(query);
    in.payload_sha256 = empty_sha;
    in.region = "us-east-1";
    in.amz_date = "20130524T000000Z";
    return in;
}

std::string signature_of(const signing_input& in) {
    auto headers = sign(in, example_creds);
    auto auth = headers.at(0).second;
    return auth.substr(auth.find("Signature=") + 10);
}

TEST(SigV4, GetObjectWithRange) {
    auto in = example("GET", "/test.txt");
    in.headers = {{"Range", "bytes=0-9"}};
    EXPECT_EQ(canonical_request(in),
              "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
              "x-amz-content-sha256:" + empty_sha + "\nx-amz-date:20130524T000000Z\n\n"
              "host;range;x-amz-content-sha256;x-amz-date\n" + empty_sha);
    EXPECT_EQ(string_to_sign(in, canonical_request(in)),
              "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
              "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    EXPECT_EQ(signature_of(in), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    EXPECT_EQ(sign(in, example_creds).at(0).second,
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
              "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, PutObjectWithHeaders) {
    auto in = example("PUT", "/" + uri_encode("test$file.text", true));
    in.payload_sha256 = sha256_hex("Welcome to Amazon S3.");
    EXPECT_EQ(in.payload_sha256, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    in.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                  {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
    EXPECT_EQ(in.path, "/test%24file.text");
    EXPECT_EQ(signature_of(in), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, GetBucketLifecycle) {
    auto in = example("GET", "/", {{"lifecycle", ""}});
    EXPECT_NE(canonical_request(in).find("\n/\nlifecycle=\n"), std::string::npos);
    EXPECT_EQ(signature_of(in), "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, ListObjectsQuerySortedByName) {
    auto in = example("GET", "/", {{"prefix", "J"}, {"max-keys", "2"}});
    EXPECT_NE(canonical_request(in).find("\n/\nmax-keys=2&prefix=J\n"), std::string::npos);
    EXPECT_EQ(signature_of(in), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, SessionTokenIsSignedAndReturned) {
    auto in = example("GET", "/test.txt");
    credentials c = example_creds;
    c.session_token = "token/with+chars=";
    auto h = sign(in, c);
    ASSERT_EQ(h.size(), 4u);
    EXPECT_NE(h[0].second.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
                               "x-amz-security-token,"),
              std::string::npos);
    EXPECT_EQ(h[3], (std::pair<std::string, std::string>{"x-amz-security-token", c.session_token}));
    EXPECT_NE(signature_of(in), h[0].second.substr(h[0].second.find("Signature=") + 10));
}

TEST(SigV4, UriEncoding) {
    EXPECT_EQ(uri_encode("a b", true), "a%20b");
    EXPECT_EQ(uri_encode("a~b-c_d.e", true), "a~b-c_d.e");
    EXPECT_EQ(uri_encode("a/b", true), "a/b");
    EXPECT_EQ(uri_encode("a/b", false), "a%2Fb");
    EXPECT_EQ(uri_encode("*+=&", false), "%2A%2B%3D%26");
    EXPECT_EQ(uri_encode("\xc3\xa9", true), "%C3%A9");
}

TEST(SigV4, HeaderValuesAreTrimmedAndLowerCased) {
    auto in = example("GET", "/x");
    in.headers = {{"X-Amz-Meta-Note", "  a   b  "}};
    EXPECT_NE(canonical_request(in).find("\nx-amz-meta-note:a b\n"), std::string::npos);
}

}  // namespace
}  // namespace hako::storage::s3
