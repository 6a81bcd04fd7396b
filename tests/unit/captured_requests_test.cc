// Decodes request frames captured from the real clients (tests/data/captures, recorded
// with tests/tools/capture_proxy.py): each must decode completely and re-encode to the
// same bytes. Then every truncation of each frame must fail cleanly.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
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
