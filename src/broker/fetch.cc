// Fetch (key 1): read stored batches for each requested partition; long-poll until
// min_bytes are available or max_wait_ms passes, woken at once by a produce.
// Sessionless: we always answer session_id 0, which every target client accepts.
#include "hako/protocol/messages/fetch.h"

#include <set>

#include "broker/concurrently.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "protocol/record_batch.h"

namespace hako::broker {

namespace {

using protocol::error_code;

struct wanted {
    std::string topic;
    protocol::uuid topic_id{};
    std::int32_t partition;
    std::int64_t offset;
    std::int32_t max_bytes;
    bool lookup_failed = false;  // the topic id could not be resolved: storage down
};

// A prefix of `records` (whole batches) of at most `budget` bytes.
std::size_t whole_batches_within(const std::string& records, std::int64_t budget) {
    std::size_t keep = 0;
    for (auto b : protocol::split_batches(records, true)) {
        if (static_cast<std::int64_t>(keep + b.size()) > budget) break;
        keep += b.size();
    }
    return keep;
}

awaitable<storage::fetch_result> fetch_partition(storage::engine& store, const wanted& w,
                                                 std::int32_t limit, storage::isolation iso) {
    try {
        if (w.lookup_failed) throw std::runtime_error("topic id lookup failed");
        co_return co_await store.fetch(w.topic, w.partition, w.offset, limit, iso);
    } catch (const std::exception& e) {
        storage::fetch_result fr;
        fr.error = storage_failure(e);
        co_return fr;
    }
}

// One pass over every requested partition; returns the bytes gathered. The partitions are
// read from storage at once (each up to its own limit: remote storage answers them in
// parallel), then the answer is assembled in request order under the response's budget:
// the first non-empty partition may exceed it (KIP-74), later ones keep the whole batches
// that fit.
awaitable<std::size_t> fetch_once(request_context& ctx, const std::vector<wanted>& want,
                                  std::int32_t max_bytes, storage::isolation iso,
                                  protocol::fetch::response& resp) {
    auto& store = ctx.b.store();
    std::vector<awaitable<storage::fetch_result>> reads;
    for (const auto& w : want)
        if (!w.topic.empty())
            reads.push_back(fetch_partition(
                store, w, std::max(std::min(w.max_bytes, max_bytes), 0), iso));
    auto all = concurrently(std::move(reads));
    auto results = co_await std::move(all);

    resp.responses.clear();
    std::size_t total = 0, next_result = 0;
    std::int64_t budget = max_bytes;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const auto& w = want[i];
        if (i == 0 || want[i - 1].topic != w.topic || want[i - 1].topic_id != w.topic_id) {
            auto& t = resp.responses.emplace_back();
            t.topic = w.topic;
            t.topic_id = w.topic_id;
        }
        auto& p = resp.responses.back().partitions.emplace_back();
        p.partition_index = w.partition;
        p.preferred_read_replica = -1;
        p.aborted_transactions = std::nullopt;
        if (w.topic.empty()) {
            p.error_code = code(ctx.version() >= 13 ? error_code::unknown_topic_id
                                                    : error_code::unknown_topic_or_partition);
            p.high_watermark = p.last_stable_offset = p.log_start_offset = -1;
            continue;
        }
        auto& fr = results[next_result++];
        if (total > 0 && static_cast<std::int64_t>(fr.records.size()) > budget)
            fr.records.resize(whole_batches_within(fr.records, budget));
        p.error_code = code(fr.error);
        p.high_watermark = fr.high_watermark;
        p.last_stable_offset = fr.last_stable;
        p.log_start_offset = fr.log_start;
        if (iso == storage::isolation::read_committed) {
            auto& ab = p.aborted_transactions.emplace();
            for (const auto& a : fr.aborted) {
                auto& e = ab.emplace_back();
                e.producer_id = a.producer_id;
                e.first_offset = a.first_offset;
            }
        }
        total += fr.records.size();
        budget -= static_cast<std::int64_t>(fr.records.size());
        p.records = std::move(fr.records);
    }
    co_return total;
}

}  // namespace

awaitable<std::optional<std::string>> handle_fetch(request_context& ctx, protocol::reader& r) {
    protocol::fetch::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();

    std::vector<wanted> want;
    std::set<log_waiters::partition_key> keys;
    for (const auto& t : req.topics) {
        std::string name = t.topic;
        bool lookup_failed = false;
        if (ctx.version() >= 13) {
            try {
                auto info = co_await store.describe_topic_by_id_recent(t.topic_id);
                name = info ? info->name : std::string();
            } catch (const std::exception&) {
                lookup_failed = true;  // answered per partition below
                name = "?";
            }
        }
        for (const auto& p : t.partitions) {
            want.push_back({name, t.topic_id, p.partition, p.fetch_offset, p.partition_max_bytes,
                            lookup_failed});
            if (!name.empty() && !lookup_failed) keys.insert({name, p.partition});
        }
    }
    auto iso = req.isolation_level == 1 ? storage::isolation::read_committed
                                        : storage::isolation::read_uncommitted;
    std::int32_t max_bytes = ctx.version() >= 3 ? req.max_bytes : INT32_MAX;

    protocol::fetch::response resp;
    resp.session_id = 0;
    auto wait_ms = std::clamp(req.max_wait_ms, 0, ctx.b.cfg().max_fetch_wait_ms);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    for (;;) {
        const auto seen = ctx.b.waiters().changes(keys);
        auto got = co_await fetch_once(ctx, want, max_bytes, iso, resp);
        bool any_error = false;
        for (const auto& t : resp.responses)
            for (const auto& p : t.partitions) any_error |= p.error_code != 0;
        if (static_cast<std::int64_t>(got) >= req.min_bytes || any_error ||
            std::chrono::steady_clock::now() >= deadline || keys.empty())
            break;
        // Appends by other broker processes on shared storage cannot wake us: re-read
        // storage at the engine's poll interval as well.
        auto until = deadline;
        if (auto poll = store.poll_interval(); poll.count() > 0)
            until = std::min(deadline, std::chrono::steady_clock::now() + poll);
        co_await ctx.b.waiters().wait(keys, until, seen);
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
