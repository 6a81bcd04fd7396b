// Decodes request frames captured from the real clients (tests/data/captures, recorded
// with tests/tools/capture_proxy.py): each must decode completely and re-encode to the
// same bytes. Then every truncation of each frame must fail cleanly.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "hako/protocol/messages/all.h"
#include "protocol/header.h"

namespace p = hako::protocol;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

// Decodes the body of a request; returns its re-encoding.
std::string decode_body(std::int16_t key, std::int16_t version, p::reader& r) {
    p::writer w;
    switch (key) {
#define HAKO_DECODE_CASE(api)      \
    case p::api::api_key: {        \
        p::api::request m;         \
        m.decode(r, version);      \
        m.encode(w, version);      \
        break;                     \
    }
        HAKO_FOR_EACH_API(HAKO_DECODE_CASE)
#undef HAKO_DECODE_CASE
        default:
            throw std::runtime_error("no codec for api " + std::to_string(key));
    }
    return w.take();
}

std::vector<fs::path> captures() {
    std::vector<fs::path> out;
    fs::path dir = fs::path(HAKO_TEST_DATA) / "captures";
    if (fs::exists(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".bin") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST(captured_requests, every_client_frame_decodes_and_reencodes) {
    auto files = captures();
    ASSERT_GE(files.size(), 20u) << "expected captures from every client in tests/data/captures";
    std::set<std::string> clients;
    for (const auto& path : files) {
        SCOPED_TRACE(path.filename().string());
        clients.insert(path.filename().string().substr(0, path.filename().string().find('-')));
        auto frame = slurp(path);
        auto prefix = p::peek_request_prefix(frame);
        const auto* api = p::find_api(prefix.api_key);
        ASSERT_NE(api, nullptr);
        p::reader r(frame);
        p::request_header h;
        h.decode(r, api->is_flexible(prefix.api_version));
        auto body_start = frame.size() - r.remaining();
        auto again = decode_body(prefix.api_key, prefix.api_version, r);
        EXPECT_TRUE(r.empty()) << r.remaining() << " bytes left over";
        EXPECT_EQ(again, frame.substr(body_start)) << "re-encoding differs";

        // truncated frames must fail with decode_error, never crash
        std::size_t step = std::max<std::size_t>(1, frame.size() / 64);
        for (std::size_t cut = body_start; cut < frame.size(); cut += step) {
            p::reader tr(frame.data() + body_start, cut - body_start);
            EXPECT_THROW(decode_body(prefix.api_key, prefix.api_version, tr), p::decode_error);
        }
    }
    for (const char* c : {"kcat", "confluent", "kafkapython", "kafkajs", "platformatic"})
        EXPECT_TRUE(clients.count(c)) << "no captures from " << c;
}

// With the frame shared (as the broker reads it), a Produce request's batches decode as
// slices of the frame — no copy — that keep it alive after everything else has let go,
// and re-encode to the same bytes. Without an owner they are copies.
TEST(captured_requests, produce_batches_are_slices_of_a_shared_frame) {
    int produces = 0;
    for (const auto& path : captures()) {
        auto bytes = slurp(path);
        if (p::peek_request_prefix(bytes).api_key != p::produce::api_key) continue;
        SCOPED_TRACE(path.filename().string());
        ++produces;
        auto prefix = p::peek_request_prefix(bytes);
        std::shared_ptr<char[]> frame(new char[bytes.size()]);
        std::memcpy(frame.get(), bytes.data(), bytes.size());
        const char* begin = frame.get();
        const char* end = begin + bytes.size();
        std::weak_ptr<char[]> watch = frame;

        p::produce::request req;
        {
            p::reader r(std::move(frame), bytes.size());
            p::request_header h;
            h.decode(r, p::find_api(prefix.api_key)->is_flexible(prefix.api_version));
            req.decode(r, prefix.api_version);
        }
        int batches = 0;
        for (const auto& t : req.topic_data)
            for (const auto& part : t.partition_data)
                if (part.records && !part.records->empty()) {
                    ++batches;
                    EXPECT_GE(part.records->data(), begin);
                    EXPECT_LE(part.records->data() + part.records->size(), end);
                }
        ASSERT_GT(batches, 0);
        EXPECT_FALSE(watch.expired()) << "the batches must keep the frame alive";
        p::writer w;
        req.encode(w, prefix.api_version);
        auto again = w.take();
        EXPECT_EQ(again, bytes.substr(bytes.size() - again.size()));
        req = {};
        EXPECT_TRUE(watch.expired()) << "the frame outlived its last batch";

        // Without an owner (a reader over borrowed bytes) the batches are copies.
        p::reader plain(bytes);
        p::request_header h;
        h.decode(plain, p::find_api(prefix.api_key)->is_flexible(prefix.api_version));
        p::produce::request copied;
        copied.decode(plain, prefix.api_version);
        for (const auto& t : copied.topic_data) {
            for (const auto& part : t.partition_data) {
                if (!part.records || part.records->empty()) continue;
                EXPECT_TRUE(part.records->data() < bytes.data() ||
                            part.records->data() >= bytes.data() + bytes.size());
            }
        }
    }
    EXPECT_GE(produces, 3) << "expected Produce captures from several clients";
}
