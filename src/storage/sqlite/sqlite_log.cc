// sqlite:// engine: the log. A produced batch becomes one `batch` row, one `record` row
// per record and one `record_header` row per header; fetch rebuilds uncompressed batches
// from them (same offsets, timestamps, producer fields and attributes other than the
// codec), so every stored byte is queryable with plain SQL.
#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "protocol/record_batch.h"
#include "storage/producer_state.h"
#include "storage/sqlite/sqlite_engine.h"

namespace hako::storage::sqlite {

namespace {

constexpr std::size_t max_uncompressed = 256u << 20;

struct stored_batch_meta {
    std::int64_t base_offset, last_offset;
    std::int64_t attributes, base_timestamp, max_timestamp, producer_id;
    std::int64_t producer_epoch, base_sequence, record_count;
};

std::string rebuild(db& d, std::string_view topic, std::int32_t partition,
                    const stored_batch_meta& m, std::int64_t log_start) {
    std::vector<protocol::record> records;
    std::vector<std::int64_t> offsets;
    auto first = std::max(m.base_offset, log_start);
    auto& q = d.prepare(
        "SELECT \"offset\", timestamp, key, value FROM record WHERE topic = ? AND \"partition\" = ? "
        "AND \"offset\" BETWEEN ? AND ? ORDER BY \"offset\"");
    q.bind(1, topic).bind(2, partition).bind(3, first).bind(4, m.last_offset);
    const bool log_append = m.attributes & protocol::batch_attr::log_append_time;
    while (q.step()) {
        protocol::record r;
        r.offset_delta = static_cast<std::int32_t>(q.int64(0) - m.base_offset);
        r.timestamp_delta = log_append ? 0 : q.int64(1) - m.base_timestamp;
        r.key = q.blob(2);
        r.value = q.blob(3);
        offsets.push_back(q.int64(0));
        records.push_back(std::move(r));
    }
    auto& h = d.prepare(
        "SELECT \"offset\", key, value FROM record_header WHERE topic = ? AND \"partition\" = ? "
        "AND \"offset\" BETWEEN ? AND ? ORDER BY \"offset\", idx");
    h.bind(1, topic).bind(2, partition).bind(3, first).bind(4, m.last_offset);
    std::size_t i = 0;
    while (h.step()) {
        auto off = h.int64(0);
        while (i < offsets.size() && offsets[i] < off) ++i;
        if (i == offsets.size()) break;
        records[i].headers.push_back({h.text(1), h.blob(2)});
    }
    h.reset();
    protocol::batch_builder_options o;
    o.base_offset = m.base_offset;
    o.partition_leader_epoch = 0;
    o.codec = protocol::compression::none;
    o.base_timestamp = m.base_timestamp;
    o.max_timestamp = m.max_timestamp;
    o.last_offset_delta = static_cast<std::int32_t>(m.last_offset - m.base_offset);
    o.producer_id = m.producer_id;
    o.producer_epoch = static_cast<std::int16_t>(m.producer_epoch);
    o.base_sequence = static_cast<std::int32_t>(m.base_sequence);
    o.transactional = m.attributes & protocol::batch_attr::transactional;
    o.control = m.attributes & protocol::batch_attr::control;
    o.log_append_time = log_append;
    return protocol::build_batch(o, records);
}

}  // namespace

awaitable<append_result> sqlite_engine::append(append_request req) {
    auto topic = req.topic;
    auto partition = req.partition;
    const auto bytes = req.batch.size();
    auto op = worker_->write<append_result>([req = std::move(req)](db& d) {
        auto p = read_partition(d, req.topic, req.partition);
        if (!p) return append_result{error_code::unknown_topic_or_partition};
        auto [log_start, base] = *p;
        std::optional<producer_entry> producer;
        if (req.producer_id >= 0) {
            auto& q = d.prepare("SELECT data FROM producer_state WHERE producer_id = ? AND "
                                "topic = ? AND \"partition\" = ?");
            q.bind(1, req.producer_id).bind(2, req.topic).bind(3, req.partition);
            if (q.step()) producer = producer_entry::decode(q.blob_view(0));
            q.reset();
            auto verdict = check_sequence(producer, req);
            if (verdict.error != error_code::none) return append_result{verdict.error};
            if (verdict.duplicate_of >= 0)
                return append_result{error_code::none, verdict.duplicate_of, log_start};
            if (!producer) producer.emplace();
            remember_batch(*producer, req, base);
            d.prepare("INSERT INTO producer_state (producer_id, topic, \"partition\", data) "
                      "VALUES (?, ?, ?, ?) ON CONFLICT (producer_id, topic, \"partition\") "
                      "DO UPDATE SET data = excluded.data")
                .bind(1, req.producer_id)
                .bind(2, req.topic)
                .bind(3, req.partition)
                .bind_blob(4, std::string_view(producer->encode()))
                .run();
        }
        auto h = protocol::read_batch_header(req.batch);
        auto records = protocol::decode_records(req.batch, max_uncompressed);
        auto last = base + h.last_offset_delta;
        d.prepare("INSERT INTO batch (topic, \"partition\", base_offset, last_offset, attributes, "
                  "base_timestamp, max_timestamp, producer_id, producer_epoch, base_sequence, "
                  "record_count, size_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(1, req.topic)
            .bind(2, req.partition)
            .bind(3, base)
            .bind(4, last)
            .bind(5, h.attributes & ~protocol::batch_attr::compression_mask)
            .bind(6, h.base_timestamp)
            .bind(7, h.max_timestamp)
            .bind(8, h.producer_id)
            .bind(9, h.producer_epoch)
            .bind(10, h.base_sequence)
            .bind(11, h.records_count)
            .bind(12, static_cast<std::int64_t>(req.batch.size()))
            .run();
        const bool log_append = h.log_append_time();
        for (const auto& rec : records) {
            auto off = base + rec.offset_delta;
            auto ts = log_append ? h.max_timestamp : h.base_timestamp + rec.timestamp_delta;
            d.prepare("INSERT INTO record (topic, \"partition\", \"offset\", timestamp, key, value) "
                      "VALUES (?, ?, ?, ?, ?, ?)")
                .bind(1, req.topic)
                .bind(2, req.partition)
                .bind(3, off)
                .bind(4, ts)
                .bind_blob(5, rec.key)
                .bind_blob(6, rec.value)
                .run();
            std::int64_t idx = 0;
            for (const auto& hd : rec.headers)
                d.prepare("INSERT INTO record_header (topic, \"partition\", \"offset\", idx, key, "
                          "value) VALUES (?, ?, ?, ?, ?, ?)")
                    .bind(1, req.topic)
                    .bind(2, req.partition)
                    .bind(3, off)
                    .bind(4, idx++)
                    .bind(5, hd.key)
                    .bind_blob(6, hd.value)
                    .run();
        }
        d.prepare("UPDATE partition SET next_offset = ? WHERE topic = ? AND \"partition\" = ?")
            .bind(1, last + 1)
            .bind(2, req.topic)
            .bind(3, req.partition)
            .run();
        return append_result{error_code::none, base, log_start};
    }, bytes);
    auto r = co_await std::move(op);
    if (r.error == error_code::none) notify_change(topic, partition);
    co_return r;
}

awaitable<fetch_result> sqlite_engine::fetch(std::string_view topic, std::int32_t partition,
                                             std::int64_t offset, std::int32_t max_bytes,
                                             isolation) {
    auto op = worker_->read<fetch_result>(
        [t = std::string(topic), partition, offset, max_bytes](db& d) {
            fetch_result r;
            auto p = read_partition(d, t, partition);
            if (!p) {
                r.error = error_code::unknown_topic_or_partition;
                return r;
            }
            r.log_start = p->first;
            r.high_watermark = r.last_stable = p->second;
            if (offset < p->first || offset > p->second) {
                r.error = error_code::offset_out_of_range;
                return r;
            }
            std::vector<stored_batch_meta> metas;
            auto& q = d.prepare(
                "SELECT base_offset, last_offset, attributes, base_timestamp, max_timestamp, "
                "producer_id, producer_epoch, base_sequence, record_count FROM batch "
                "WHERE topic = ? AND \"partition\" = ? AND last_offset >= ? "
                "ORDER BY base_offset LIMIT 1000");
            q.bind(1, t).bind(2, partition).bind(3, offset);
            while (q.step())
                metas.push_back({q.int64(0), q.int64(1), q.int64(2), q.int64(3), q.int64(4),
                                 q.int64(5), q.int64(6), q.int64(7), q.int64(8)});
            // KIP-74: the first batch goes out even when larger than max_bytes.
            for (const auto& m : metas) {
                auto b = rebuild(d, t, partition, m, p->first);
                if (!r.records.empty() &&
                    r.records.size() + b.size() > static_cast<std::size_t>(std::max(max_bytes, 0)))
                    break;
                r.records += b;
            }
            return r;
        });
    co_return co_await std::move(op);
}

awaitable<partition_offsets> sqlite_engine::offsets(std::string_view topic, std::int32_t partition) {
    auto op = worker_->read<partition_offsets>([t = std::string(topic), partition](db& d) {
        auto p = read_partition(d, t, partition);
        if (!p) return partition_offsets{error_code::unknown_topic_or_partition};
        return partition_offsets{error_code::none, p->first, p->second, p->second};
    });
    co_return co_await std::move(op);
}

awaitable<timestamp_lookup> sqlite_engine::offset_for_timestamp(std::string_view topic,
                                                                std::int32_t partition,
                                                                std::int64_t ts) {
    auto op = worker_->read<timestamp_lookup>([t = std::string(topic), partition, ts](db& d) {
        auto p = read_partition(d, t, partition);
        if (!p) return timestamp_lookup{error_code::unknown_topic_or_partition};
        // Control records (transaction markers) are never a lookup result.
        auto& q = d.prepare(
            "SELECT r.\"offset\", r.timestamp FROM record r JOIN batch b ON b.topic = r.topic "
            "AND b.\"partition\" = r.\"partition\" AND r.\"offset\" BETWEEN b.base_offset AND "
            "b.last_offset WHERE r.topic = ? AND r.\"partition\" = ? AND r.timestamp >= ? AND "
            "r.\"offset\" >= ? AND (b.attributes & 32) = 0 ORDER BY r.\"offset\" LIMIT 1");
        q.bind(1, t).bind(2, partition).bind(3, ts).bind(4, p->first);
        if (!q.step()) return timestamp_lookup{};
        timestamp_lookup r{error_code::none, q.int64(0), q.int64(1)};
        q.reset();
        return r;
    });
    co_return co_await std::move(op);
}

awaitable<timestamp_lookup> sqlite_engine::max_timestamp(std::string_view topic,
                                                         std::int32_t partition) {
    auto op = worker_->read<timestamp_lookup>([t = std::string(topic), partition](db& d) {
        auto p = read_partition(d, t, partition);
        if (!p) return timestamp_lookup{error_code::unknown_topic_or_partition};
        auto& q = d.prepare(
            "SELECT \"offset\", timestamp FROM record WHERE topic = ? AND \"partition\" = ? AND "
            "\"offset\" >= ? ORDER BY timestamp DESC, \"offset\" ASC LIMIT 1");
        q.bind(1, t).bind(2, partition).bind(3, p->first);
        if (!q.step()) return timestamp_lookup{};
        timestamp_lookup r{error_code::none, q.int64(0), q.int64(1)};
        q.reset();
        return r;
    });
    co_return co_await std::move(op);
}

awaitable<partition_offsets> sqlite_engine::delete_records(std::string_view topic,
                                                           std::int32_t partition,
                                                           std::int64_t offset) {
    auto op = worker_->write<partition_offsets>([t = std::string(topic), partition, offset](db& d) {
        auto p = read_partition(d, t, partition);
        if (!p) return partition_offsets{error_code::unknown_topic_or_partition};
        auto target = offset == -1 ? p->second : offset;
        if (target < 0 || target > p->second) return partition_offsets{error_code::offset_out_of_range};
        auto start = std::max(p->first, target);
        trim_log(d, t, partition, start);
        return partition_offsets{error_code::none, start, p->second, p->second};
    });
    co_return co_await std::move(op);
}

}  // namespace hako::storage::sqlite

namespace hako::storage::sqlite {

void trim_log(db& d, const std::string& t, std::int32_t partition, std::int64_t start) {
    d.prepare("UPDATE partition SET log_start = MAX(log_start, ?) WHERE topic = ? AND \"partition\" = ?")
        .bind(1, start).bind(2, t).bind(3, partition).run();
    d.prepare("DELETE FROM record WHERE topic = ? AND \"partition\" = ? AND \"offset\" < ?")
        .bind(1, t).bind(2, partition).bind(3, start).run();
    d.prepare("DELETE FROM record_header WHERE topic = ? AND \"partition\" = ? AND \"offset\" < ?")
        .bind(1, t).bind(2, partition).bind(3, start).run();
    d.prepare("DELETE FROM batch WHERE topic = ? AND \"partition\" = ? AND last_offset < ?")
        .bind(1, t).bind(2, partition).bind(3, start).run();
}

awaitable<partition_offsets> sqlite_engine::maintain(std::string_view topic, std::int32_t partition,
                                                     const retention_policy& pol) {
    auto op = worker_->write<partition_offsets>([t = std::string(topic), partition, pol](db& d) {
        auto p = read_partition(d, t, partition);
        if (!p) return partition_offsets{error_code::unknown_topic_or_partition};
        auto start = p->first;
        if (pol.retention_ms >= 0) {
            // everything before the first batch young enough to keep
            auto& q = d.prepare("SELECT base_offset FROM batch WHERE topic = ? AND \"partition\" = ? "
                                "AND max_timestamp >= ? ORDER BY base_offset LIMIT 1");
            q.bind(1, t).bind(2, partition).bind(3, pol.now_ms - pol.retention_ms);
            auto keep_from = q.step() ? q.int64(0) : p->second;
            q.reset();
            start = std::max(start, keep_from);
        }
        if (pol.retention_bytes >= 0) {
            // newest batches first, until the budget is spent
            auto& q = d.prepare("SELECT base_offset, size_bytes FROM batch WHERE topic = ? AND "
                                "\"partition\" = ? ORDER BY base_offset DESC");
            q.bind(1, t).bind(2, partition);
            std::int64_t total = 0, keep_from = p->second;
            while (q.step()) {
                total += q.int64(1);
                if (total > pol.retention_bytes) break;
                keep_from = q.int64(0);
            }
            q.reset();
            start = std::max(start, keep_from);
        }
        if (start > p->first) trim_log(d, t, partition, start);
        if (pol.compact) compact_partition(d, t, partition, pol);
        return partition_offsets{error_code::none, start, p->second, p->second};
    });
    co_return co_await std::move(op);
}

// Keeps the newest record per key at its offset; tombstones that are newest for their key
// go once older than delete.retention.ms; records younger than the compaction lag stay.
void compact_partition(db& d, const std::string& t, std::int32_t partition,
                       const retention_policy& pol) {
    std::vector<std::tuple<std::int64_t, std::string, bool, std::int64_t>> rows;
    auto& q = d.prepare(
        "SELECT r.\"offset\", r.key, r.value IS NULL, r.timestamp FROM record r JOIN batch b "
        "ON b.topic = r.topic AND b.\"partition\" = r.\"partition\" AND r.\"offset\" "
        "BETWEEN b.base_offset AND b.last_offset WHERE r.topic = ? AND r.\"partition\" = ? "
        "AND r.key IS NOT NULL AND (b.attributes & 32) = 0 ORDER BY r.\"offset\"");
    q.bind(1, t).bind(2, partition);
    while (q.step())
        rows.emplace_back(q.int64(0), std::string(q.blob_view(1)), q.int64(2) != 0, q.int64(3));
    std::unordered_map<std::string, std::int64_t> newest;
    for (const auto& [off, key, tomb, ts] : rows) newest[key] = off;
    auto lag_cutoff = pol.now_ms - pol.min_compaction_lag_ms;
    auto tomb_cutoff = pol.now_ms - pol.delete_retention_ms;
    bool removed = false;
    for (const auto& [off, key, tomb, ts] : rows) {
        if (ts >= lag_cutoff) continue;
        if (newest[key] == off && !(tomb && ts < tomb_cutoff)) continue;
        d.prepare("DELETE FROM record WHERE topic = ? AND \"partition\" = ? AND \"offset\" = ?")
            .bind(1, t).bind(2, partition).bind(3, off).run();
        d.prepare("DELETE FROM record_header WHERE topic = ? AND \"partition\" = ? AND \"offset\" = ?")
            .bind(1, t).bind(2, partition).bind(3, off).run();
        removed = true;
    }
    if (removed)
        d.prepare("DELETE FROM batch WHERE topic = ?1 AND \"partition\" = ?2 AND NOT EXISTS "
                  "(SELECT 1 FROM record r WHERE r.topic = ?1 AND r.\"partition\" = ?2 AND "
                  "r.\"offset\" BETWEEN batch.base_offset AND batch.last_offset)")
            .bind(1, t).bind(2, partition).run();
}

}  // namespace hako::storage::sqlite
