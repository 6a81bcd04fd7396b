// postgres:// engine: the log. Appends to one partition that arrive while a flush is in
// flight are coalesced: the next flush takes all of them in one transaction — lock the
// partition row, check idempotent sequences, one binary COPY for the records and one for
// the batch rows, move next_offset, NOTIFY, COMMIT. Fetch reads batch and record rows up
// to the committed next_offset in one statement, under a byte budget, and rebuilds
// uncompressed batches.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

#include "protocol/record_batch.h"
#include "storage/postgres/pg_copy.h"
#include "storage/postgres/pg_engine.h"
#include "storage/producer_state.h"

namespace hako::storage::postgres {

namespace asio = boost::asio;

namespace {
constexpr std::size_t max_uncompressed = 256u << 20;
}

awaitable<append_result> pg_engine::append(append_request req) {
    auto topic = req.topic;
    auto partition = req.partition;
    auto op = appends_.append(
        {topic, partition}, std::move(req), ex_, {},
        [this, topic, partition](append_group& group) { return flush(topic, partition, group); },
        [this, topic, partition] { notify_change(topic, partition); });
    co_return co_await std::move(op);
}

awaitable<void> pg_engine::flush(const std::string& topic, std::int32_t partition,
                                 append_group& group) {
    auto acquire = pool_->acquire();
    auto c = co_await std::move(acquire);
    co_await c->exec("BEGIN");
    auto lock = c->query("SELECT log_start, next_offset FROM partition WHERE topic = $1 AND "
                         "\"partition\" = $2 FOR UPDATE",
                         params().text(topic).i64(partition));
    auto part = co_await std::move(lock);
    if (part.rows() == 0) {
        co_await c->exec("ROLLBACK");
        for (auto& p : group) p->result = {error_code::unknown_topic_or_partition};
        co_return;
    }
    const auto log_start = part.i64(0, 0);
    auto next = part.i64(0, 1);

    // Idempotent producers: their stored state, read under the partition lock.
    std::map<std::int64_t, std::optional<producer_entry>> producers;
    for (auto& p : group)
        if (p->req.producer_id >= 0) producers[p->req.producer_id];
    if (!producers.empty()) {
        std::vector<std::string> ids;
        for (auto& [id, e] : producers) ids.push_back(std::to_string(id));
        auto op = c->query("SELECT producer_id, data FROM producer_state WHERE topic = $1 AND "
                           "\"partition\" = $2 AND producer_id = ANY($3::bigint[])",
                           params().text(topic).i64(partition).text(text_array_literal(ids)));
        auto r = co_await std::move(op);
        for (int i = 0; i < r.rows(); ++i)
            producers[r.i64(i, 0)] = producer_entry::decode(r.field(i, 1));
    }
    std::set<std::int64_t> changed_producers;

    copy_encoder records, batches;
    for (auto& p : group) {
        const auto& req = p->req;
        if (req.producer_id >= 0) {
            auto& entry = producers[req.producer_id];
            auto verdict = check_sequence(entry, req);
            if (verdict.error != error_code::none) {
                p->result = {verdict.error};
                continue;
            }
            if (verdict.duplicate_of >= 0) {
                p->result = {error_code::none, verdict.duplicate_of, log_start};
                continue;
            }
            if (!entry) entry.emplace();
            remember_batch(*entry, req, next);
            changed_producers.insert(req.producer_id);
        }
        auto h = protocol::read_batch_header(req.batch);
        const bool log_append = h.log_append_time();
        for (const auto& rec : protocol::decode_records(req.batch, max_uncompressed)) {
            records.begin_row(7);
            records.add_bytes(std::string_view(topic));
            records.add_i32(partition);
            records.add_i64(next + rec.offset_delta);
            records.add_i64(log_append ? h.max_timestamp : h.base_timestamp + rec.timestamp_delta);
            records.add_bytes(rec.key);
            records.add_bytes(rec.value);
            auto json = headers_json(rec.headers);
            if (json.empty())
                records.add_null();
            else
                records.add_jsonb(json);
        }
        batches.begin_row(12);
        batches.add_bytes(std::string_view(topic));
        batches.add_i32(partition);
        batches.add_i64(next);
        batches.add_i64(next + h.last_offset_delta);
        batches.add_i32(h.attributes & ~protocol::batch_attr::compression_mask);
        batches.add_i64(h.base_timestamp);
        batches.add_i64(h.max_timestamp);
        batches.add_i64(h.producer_id);
        batches.add_i32(h.producer_epoch);
        batches.add_i32(h.base_sequence);
        batches.add_i32(h.records_count);
        batches.add_i32(static_cast<std::int32_t>(req.batch.size()));
        p->result = {error_code::none, next, log_start};
        next += h.last_offset_delta + 1;
    }
    if (batches.rows() == 0) {  // only duplicates and rejections
        co_await c->exec("ROLLBACK");
        co_return;
    }
    auto copy_records = c->copy_in(
        "COPY record (topic, \"partition\", \"offset\", \"timestamp\", key, value, headers) "
        "FROM STDIN (FORMAT binary)",
        records.finish());
    co_await std::move(copy_records);
    auto copy_batches = c->copy_in(
        "COPY batch (topic, \"partition\", base_offset, last_offset, attributes, base_timestamp, "
        "max_timestamp, producer_id, producer_epoch, base_sequence, record_count, size_bytes) "
        "FROM STDIN (FORMAT binary)",
        batches.finish());
    co_await std::move(copy_batches);
    for (auto id : changed_producers) {
        auto op = c->query("INSERT INTO producer_state (producer_id, topic, \"partition\", data) "
                           "VALUES ($1, $2, $3, $4) ON CONFLICT (producer_id, topic, \"partition\") "
                           "DO UPDATE SET data = excluded.data",
                           params().i64(id).text(topic).i64(partition).bin(producers[id]->encode()));
        co_await std::move(op);
    }
    // NOTIFY is delivered at COMMIT, to every broker's LISTEN connection.
    auto update = c->query("WITH u AS (UPDATE partition SET next_offset = $3 WHERE topic = $1 "
                           "AND \"partition\" = $2) SELECT pg_notify($4, $2 || ':' || $1)",
                           params().text(topic).i64(partition).i64(next).text(
                               channel_name(opts_.schema)));
    co_await std::move(update);
    co_await c->exec("COMMIT");
}

}  // namespace hako::storage::postgres
