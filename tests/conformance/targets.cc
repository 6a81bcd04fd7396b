// The engines the conformance suite runs against, and the helpers every test shares.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>

#include "conformance.h"

namespace hako::conformance {

namespace {

// A fresh directory under the system temp dir; the returned cleanup removes it whole
// (database file, -wal and -shm alike).
[[maybe_unused]] instance temp_file_url(const std::string& scheme, const std::string& file,
                                        const std::string& token) {
    auto dir = std::filesystem::temp_directory_path() / ("hako-conformance-" + token);
    std::filesystem::create_directories(dir);
    return {scheme + (dir / file).string(), [dir] {
                std::error_code ec;
                std::filesystem::remove_all(dir, ec);
            }};
}

// Built-in targets. Adding an engine is one line here: a name, whether two engines opened
// on one URL share storage, and a factory giving each test a fresh URL.
std::vector<target> builtin_targets() {
    return {
        {"memory", false,
         [](const std::string&) {
             return instance{"memory://", {}};
         }},
        {"sqlite", true,
         [](const std::string& t) { return temp_file_url("sqlite://", "hako.db", t); },
         false},
    };
}

// HAKO_CONFORMANCE_URLS: extra storage URLs separated by whitespace, for engines that need
// a server (postgres://, s3://). `{unique}` in a URL is replaced by a token unique to each
// test, so each test can get its own database schema, key prefix or file; without it,
// every test shares the URL's namespace and relies on its per-test topic and group names.
// Every engine named this way except memory:// is taken to be shared.
std::vector<target> env_targets() {
    std::vector<target> out;
    const char* env = std::getenv("HAKO_CONFORMANCE_URLS");
    if (!env) return out;
    std::istringstream in(env);
    std::string url;
    for (int i = 0; in >> url; ++i) {
        auto scheme = url.substr(0, url.find("://"));
        std::string name = "env" + std::to_string(i) + "_";
        for (char c : scheme) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
        out.push_back({name, scheme != "memory",
                       [url](const std::string& token) {
                           auto u = url;
                           for (auto p = u.find("{unique}"); p != std::string::npos;
                                p = u.find("{unique}"))
                               u.replace(p, 8, token);
                           return instance{u, {}};
                       },
                       scheme == "memory" || scheme == "s3"});
    }
    return out;
}

}  // namespace

std::vector<target> targets() {
    auto all = builtin_targets();
    for (auto& t : env_targets()) all.push_back(std::move(t));
    return all;
}

std::string target_name(const ::testing::TestParamInfo<target>& info) {
    return info.param.name;
}

std::string unique_token() {
    static std::atomic<unsigned> counter{0};
    static const auto seed = std::random_device{}();
    std::ostringstream s;
    s << "c" << std::hex << ::getpid() << "x" << (seed & 0xffff) << "x" << counter++;
    return s.str();
}

void run_all_on(boost::asio::io_context& io, std::vector<awaitable<void>> ops,
                std::chrono::seconds timeout) {
    std::size_t pending = ops.size();
    std::exception_ptr first;
    for (auto& op : ops)
        boost::asio::co_spawn(io, std::move(op), [&](std::exception_ptr e) {
            if (e && !first) first = e;
            --pending;
        });
    auto guard = boost::asio::make_work_guard(io);
    io.restart();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pending > 0) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("concurrent storage operations did not complete in time");
        io.run_one_for(std::chrono::milliseconds(100));
    }
    if (first) std::rethrow_exception(first);
}

// --- batches ---------------------------------------------------------------------------

protocol::record rec(std::optional<std::string> value, std::int64_t ts_delta,
                     std::optional<std::string> key, std::vector<protocol::record_header> headers) {
    protocol::record r;
    r.value = std::move(value);
    r.timestamp_delta = ts_delta;
    r.key = std::move(key);
    r.headers = std::move(headers);
    return r;
}

std::string batch(std::vector<protocol::record> records, std::int64_t base_timestamp,
                  protocol::batch_builder_options opts) {
    for (std::size_t i = 0; i < records.size(); ++i)
        records[i].offset_delta = static_cast<std::int32_t>(i);
    opts.base_timestamp = base_timestamp;
    return protocol::build_batch(opts, records);
}

std::string batch_n(int n, const std::string& prefix, std::int64_t base_timestamp) {
    std::vector<protocol::record> rs;
    for (int i = 0; i < n; ++i) rs.push_back(rec(prefix + "-" + std::to_string(i)));
    return batch(std::move(rs), base_timestamp);
}

storage::append_request request(const std::string& topic, std::int32_t partition, std::string b) {
    auto h = protocol::read_batch_header(b);
    storage::append_request req;
    req.topic = topic;
    req.partition = partition;
    req.record_count = h.records_count;
    req.max_timestamp = h.max_timestamp;
    req.producer_id = h.producer_id;
    req.producer_epoch = h.producer_epoch;
    req.base_sequence = h.base_sequence;
    req.transactional = h.is_transactional();
    req.batch = std::move(b);
    return req;
}

std::vector<fetched_batch> split(const storage::fetch_result& r) {
    std::vector<fetched_batch> out;
    std::vector<std::string_view> views;
    try {
        views = protocol::split_batches(r.records, false);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "fetch returned bytes that are not whole batches: " << e.what();
        return out;
    }
    for (auto v : views) {
        EXPECT_TRUE(protocol::crc_ok(v)) << "a fetched batch has a bad CRC";
        out.push_back({protocol::read_batch_header(v), std::string(v)});
    }
    return out;
}

std::vector<std::pair<std::int64_t, std::string>> values(const std::vector<fetched_batch>& bs) {
    std::vector<std::pair<std::int64_t, std::string>> out;
    for (const auto& b : bs)
        for (const auto& r : protocol::decode_records(b.bytes, 64u << 20))
            out.emplace_back(b.header.base_offset + r.offset_delta, r.value.value_or("<null>"));
    return out;
}

// --- concurrent writers ---------------------------------------------------------------

awaitable<void> append_many(storage::engine& e, std::string topic, std::string who, int batches,
                            std::vector<appended>& out) {
    for (int j = 0; j < batches; ++j) {
        int n = 1 + static_cast<int>((who.size() + static_cast<std::size_t>(j)) % 4);
        auto prefix = who + "." + std::to_string(j);
        auto r = co_await e.append(request(topic, 0, batch_n(n, prefix)));
        if (r.error != error_code::none)
            throw std::runtime_error("append failed: " +
                                     std::string(protocol::error_name(r.error)));
        out.push_back({r.base_offset, n, prefix});
    }
}

std::int64_t expect_dense(std::vector<appended> as) {
    std::sort(as.begin(), as.end(),
              [](const auto& a, const auto& b) { return a.base_offset < b.base_offset; });
    std::int64_t next = 0;
    for (const auto& a : as) {
        EXPECT_EQ(a.base_offset, next) << "batch " << a.prefix << " of " << a.count
                                       << " records: offsets overlap or leave a gap";
        next = a.base_offset + a.count;
    }
    return next;
}

void expect_log_matches(const std::vector<fetched_batch>& log, std::vector<appended> as) {
    std::sort(as.begin(), as.end(),
              [](const auto& a, const auto& b) { return a.base_offset < b.base_offset; });
    ASSERT_EQ(log.size(), as.size()) << "the log holds a different number of batches";
    for (std::size_t i = 0; i < log.size(); ++i) {
        EXPECT_EQ(log[i].header.base_offset, as[i].base_offset);
        auto vs = values({log[i]});
        ASSERT_EQ(vs.size(), static_cast<std::size_t>(as[i].count));
        for (std::size_t k = 0; k < vs.size(); ++k) {
            EXPECT_EQ(vs[k].first, as[i].base_offset + static_cast<std::int64_t>(k));
            EXPECT_EQ(vs[k].second, as[i].prefix + "-" + std::to_string(k));
        }
    }
}

// --- groups ----------------------------------------------------------------------------

awaitable<void> cas_increment(storage::engine& e, std::string g, int times,
                              std::vector<std::int64_t>& versions) {
    for (int done = 0; done < times;) {
        auto cur = co_await e.load_group(g);
        std::int64_t version = cur ? cur->version : 0;
        long n = cur ? std::stol(cur->data) : 0;
        auto ex = co_await boost::asio::this_coro::executor;
        co_await boost::asio::post(ex, boost::asio::use_awaitable);
        auto stored = co_await e.store_group(g, std::to_string(n + 1), version);
        if (stored) {
            versions.push_back(*stored);
            ++done;
        }
    }
}

// --- the fixture -----------------------------------------------------------------------

void conformance_test::SetUp() {
    token_ = unique_token();
    instance_ = GetParam().fresh(token_);
    engine_ = storage::open_engine(instance_.url, io_.get_executor());
}

void conformance_test::TearDown() {
    engine_.reset();
    if (instance_.cleanup) instance_.cleanup();
}

storage::topic_info conformance_test::make_topic(const std::string& topic, std::int32_t partitions,
                                                 storage::config_map configs) {
    storage::topic_info t;
    t.name = topic;
    t.partitions = partitions;
    t.configs = std::move(configs);
    auto ec = run(eng().create_topic(t));
    EXPECT_EQ(ec, error_code::none) << "create_topic " << topic;
    return t;
}

std::int64_t conformance_test::append(const std::string& topic, std::int32_t partition,
                                      std::string b) {
    auto r = run(eng().append(request(topic, partition, std::move(b))));
    EXPECT_EQ(r.error, error_code::none) << "append to " << topic << "/" << partition;
    return r.base_offset;
}

std::vector<fetched_batch> conformance_test::fetch_all(const std::string& topic,
                                                       std::int32_t partition, std::int64_t from) {
    std::vector<fetched_batch> out;
    auto hw = offsets(topic, partition).high_watermark;
    auto next = from;
    while (next < hw) {
        auto r = fetch(topic, partition, next);
        EXPECT_EQ(r.error, error_code::none) << "fetch at " << next;
        auto bs = split(r);
        if (r.error != error_code::none || bs.empty()) {
            ADD_FAILURE() << "fetch at " << next << " below the high watermark " << hw
                          << " returned no batch";
            break;
        }
        for (auto& b : bs) {
            next = b.header.next_offset();
            out.push_back(std::move(b));
        }
    }
    return out;
}

}  // namespace hako::conformance
