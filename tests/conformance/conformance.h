#pragma once
// The storage conformance suite: one set of storage-level tests that every engine behind
// storage::engine must pass (design.md §5, issue 5). Tests are TEST_P over `target`s, the
// list in targets.cc; see README.md in this folder for how to add an engine.
//
// Every test gets a fresh storage URL from its target's factory (a new temp file for a
// file-backed engine), opens an engine on it with open_engine(), and drives the engine's
// coroutines to completion with run(). Names the test creates (topics, groups) carry a
// per-test token, so a target whose URL is a shared namespace (a long-lived database
// passed through HAKO_CONFORMANCE_URLS) still gives each test its own names.

#include <gtest/gtest.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/error_code.h"
#include "protocol/record_batch.h"
#include "storage/storage.h"

namespace hako::protocol {
// gtest prints error codes by name ("OFFSET_OUT_OF_RANGE (1)") in failure messages.
inline void PrintTo(error_code e, std::ostream* os) {
    *os << error_name(e) << " (" << static_cast<int>(e) << ")";
}
}  // namespace hako::protocol

namespace hako::conformance {

using protocol::error_code;
using storage::awaitable;

// One storage URL made for one test, and how to remove what it left behind.
struct instance {
    std::string url;
    std::function<void()> cleanup;  // may be empty
};

// One engine under test.
struct target {
    std::string name;  // gtest parameter name: letters, digits, underscore
    // Engines opened on one URL (in this process or another) see one storage: a second
    // instance is how the suite stands in for a second broker. False for memory://.
    bool shared = false;
    std::function<instance(const std::string& token)> fresh;  // token: unique per test
    // Row engines (sqlite, postgres) rebuild batches from rows on fetch: same offsets,
    // records, timestamps and producer fields, but uncompressed and with a new CRC.
    bool keeps_batch_bytes = true;
};

inline void PrintTo(const target& t, std::ostream* os) {
    *os << t.name;
}

// memory:// and sqlite:// (built in), plus HAKO_CONFORMANCE_URLS.
std::vector<target> targets();
std::string target_name(const ::testing::TestParamInfo<target>& info);
std::string unique_token();

// Runs `op` on `io` (which no other thread runs) until it completes, and returns its value
// or rethrows its exception. A work guard keeps io waiting for completions that engines
// post from their own threads. Fails loudly after `timeout` instead of hanging the suite.
template <class T>
T run_on(boost::asio::io_context& io, awaitable<T> op,
         std::chrono::seconds timeout = std::chrono::seconds(120)) {
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
    std::exception_ptr error;
    bool done = false;
    if constexpr (std::is_void_v<T>) {
        boost::asio::co_spawn(io, std::move(op), [&](std::exception_ptr e) {
            error = e;
            done = true;
        });
    } else {
        boost::asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T v) {
            error = e;
            if (!e) result.emplace(std::move(v));
            done = true;
        });
    }
    auto guard = boost::asio::make_work_guard(io);
    io.restart();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("storage operation did not complete within the timeout");
        io.run_one_for(std::chrono::milliseconds(100));
    }
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return std::move(*result);
}

// Runs every coroutine in `ops` concurrently on `io` until all complete; rethrows the
// first exception.
void run_all_on(boost::asio::io_context& io, std::vector<awaitable<void>> ops,
                std::chrono::seconds timeout = std::chrono::seconds(120));

// --- batches ---------------------------------------------------------------------------

// A record with the given value, timestamp delta and key; offset_delta is set by batch().
protocol::record rec(std::optional<std::string> value, std::int64_t ts_delta = 0,
                     std::optional<std::string> key = std::nullopt,
                     std::vector<protocol::record_header> headers = {});

// A v2 batch (base offset 0, valid CRC) holding `records` with offset deltas 0..n-1.
std::string batch(std::vector<protocol::record> records, std::int64_t base_timestamp = 1000,
                  protocol::batch_builder_options opts = {});
// A batch of n records with values "<prefix>-0" .. "<prefix>-(n-1)", all at base_timestamp.
std::string batch_n(int n, const std::string& prefix, std::int64_t base_timestamp = 1000);

// The append_request the broker would make for `b` (counts, timestamps and producer
// fields taken from its header).
storage::append_request request(const std::string& topic, std::int32_t partition, std::string b);

struct fetched_batch {
    protocol::batch_header header;
    std::string bytes;
};
// Splits a fetch result into whole batches. Fails the test (ADD_FAILURE) on bytes that
// are not a concatenation of whole, CRC-valid batches.
std::vector<fetched_batch> split(const storage::fetch_result& r);
// The values of every record in `batches`, in offset order, paired with their offsets.
std::vector<std::pair<std::int64_t, std::string>> values(const std::vector<fetched_batch>& bs);

// --- concurrent writers ---------------------------------------------------------------

// One batch some writer appended: where it landed and what it held.
struct appended {
    std::int64_t base_offset = -1;
    int count = 0;
    std::string prefix;  // values are "<prefix>-0" .. "<prefix>-(count-1)"
};

// Appends `batches` batches of 1-4 records to topic/partition 0 through `e`, one after the
// other, recording each in `out`; throws on an append error.
awaitable<void> append_many(storage::engine& e, std::string topic, std::string who, int batches,
                            std::vector<appended>& out);

// The appended batches tile [0, total) exactly: no offset given twice, no gap. Returns
// the total record count.
std::int64_t expect_dense(std::vector<appended> as);

// Every batch in `log` sits where its writer was told it landed, holding that writer's
// records, and nothing else is in the log.
void expect_log_matches(const std::vector<fetched_batch>& log, std::vector<appended> as);

// --- groups ----------------------------------------------------------------------------

// Adds one to the decimal counter held in group `g`'s data, `times` times, each by
// load + store with the loaded version, retrying on a lost race. Yields to the executor
// between load and store so that concurrent callers interleave even on an engine whose
// calls never suspend. Records each version a successful store returned.
awaitable<void> cas_increment(storage::engine& e, std::string g, int times,
                              std::vector<std::int64_t>& versions);

// --- the fixture -----------------------------------------------------------------------

class conformance_test : public ::testing::TestWithParam<target> {
  protected:
    void SetUp() override;
    void TearDown() override;

    storage::engine& eng() { return *engine_; }
    boost::asio::io_context& io() { return io_; }
    const std::string& url() const { return instance_.url; }
    bool shared() const { return GetParam().shared; }

    // A second engine on this test's URL, on its own io_context (for shared targets).
    std::unique_ptr<storage::engine> open_another(boost::asio::io_context& io) {
        return storage::open_engine(instance_.url, io.get_executor());
    }

    // Closes this test's engine and opens a new one on the same URL (a broker restart).
    void reopen() {
        engine_.reset();
        engine_ = storage::open_engine(instance_.url, io_.get_executor());
    }

    template <class T>
    T run(awaitable<T> op) {
        return run_on(io_, std::move(op));
    }
    void run_all(std::vector<awaitable<void>> ops) { run_all_on(io_, std::move(ops)); }

    // `base` made unique to this test, e.g. "orders-c1a2b3".
    std::string name(std::string_view base) const { return std::string(base) + "-" + token_; }
    const std::string& token() const { return token_; }

    // Creates a topic (must succeed) and returns what create_topic filled in.
    storage::topic_info make_topic(const std::string& topic, std::int32_t partitions = 1,
                                   storage::config_map configs = {});
    // Appends `b` (must succeed) and returns the base offset.
    std::int64_t append(const std::string& topic, std::int32_t partition, std::string b);
    storage::fetch_result fetch(const std::string& topic, std::int32_t partition,
                                std::int64_t offset, std::int32_t max_bytes = 1 << 20,
                                storage::isolation iso = storage::isolation::read_uncommitted) {
        return run(eng().fetch(topic, partition, offset, max_bytes, iso));
    }
    // Every batch from `from` to the high watermark, fetched in a loop.
    std::vector<fetched_batch> fetch_all(const std::string& topic, std::int32_t partition,
                                         std::int64_t from = 0);
    storage::partition_offsets offsets(const std::string& topic, std::int32_t partition) {
        return run(eng().offsets(topic, partition));
    }

  private:
    boost::asio::io_context io_;
    std::string token_;
    instance instance_;
    std::unique_ptr<storage::engine> engine_;
};

// Declares a fixture for one area of the suite and instantiates it over every target:
// tests read "engines/<Suite>.<Test>/<target>".
#define HAKO_CONFORMANCE_SUITE(Suite)                                                             \
    class Suite : public ::hako::conformance::conformance_test {};                                \
    GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Suite);                                         \
    INSTANTIATE_TEST_SUITE_P(engines, Suite, ::testing::ValuesIn(::hako::conformance::targets()), \
                             ::hako::conformance::target_name)

}  // namespace hako::conformance
