// postgres:// engine: reading the log — fetch (batches rebuilt from rows under a byte
// budget), watermarks and timestamp lookups.
#include "protocol/record_batch.h"
#include "storage/postgres/pg_copy.h"
#include "storage/postgres/pg_engine.h"

namespace hako::storage::postgres {

namespace {

// One statement, so one snapshot: the partition row (log start, committed next_offset)
// and the batches and records below next_offset that fit the byte budget ($4, counted in
// stored batch sizes; the first batch always goes, KIP-74). Header keys and values come
// back as bytea arrays decoded from the jsonb (base64 where the bytes were not text).
//
// Written so that the plan does not depend on table statistics, which lag behind a
// partition that is being filled (a fresh topic looks empty to the planner):
// - the batch scan starts at the batch holding $3 (found by one backwards index probe),
//   not at the partition's first batch;
// - records come from a LATERAL subquery per batch, fenced by OFFSET 0 so it is not
//   flattened into a join: the batch's bounds are then parameters of an index range scan.
//   As a plain join the planner, believing the tables nearly empty, scanned the whole
//   partition's records per batch and filtered (10.5 s for 876 one-record batches, which
//   is what linger.ms=0 producers write).
constexpr const char* fetch_sql = R"sql(
WITH p AS (SELECT log_start, next_offset FROM partition WHERE topic = $1 AND "partition" = $2),
b AS (
    SELECT * FROM (
        SELECT base_offset, last_offset, attributes, base_timestamp, max_timestamp, producer_id,
               producer_epoch, base_sequence,
               (sum(size_bytes) OVER (ORDER BY base_offset))::bigint - size_bytes AS before
        FROM batch
        WHERE topic = $1 AND "partition" = $2 AND last_offset >= $3::bigint
          AND base_offset >= coalesce((SELECT base_offset FROM batch WHERE topic = $1
              AND "partition" = $2 AND base_offset <= $3::bigint
              ORDER BY base_offset DESC LIMIT 1), $3::bigint)
          AND base_offset < (SELECT next_offset FROM p)
        ORDER BY base_offset LIMIT 2000) w
    WHERE before < greatest($4::bigint, 1))
SELECT p.log_start, p.next_offset, b.base_offset, b.last_offset, b.attributes,
       b.base_timestamp, b.max_timestamp, b.producer_id, b.producer_epoch, b.base_sequence,
       r."offset", r."timestamp", r.key, r.value,
       CASE WHEN r.headers IS NULL THEN NULL ELSE ARRAY(
           SELECT coalesce(convert_to(e.v->>'key', 'UTF8'), decode(e.v->>'key_base64', 'base64'))
           FROM jsonb_array_elements(r.headers) WITH ORDINALITY AS e(v, n) ORDER BY e.n) END,
       CASE WHEN r.headers IS NULL THEN NULL ELSE ARRAY(
           SELECT coalesce(convert_to(e.v->>'value', 'UTF8'), decode(e.v->>'value_base64', 'base64'))
           FROM jsonb_array_elements(r.headers) WITH ORDINALITY AS e(v, n) ORDER BY e.n) END
FROM p LEFT JOIN b ON true
LEFT JOIN LATERAL (
    SELECT x."offset", x."timestamp", x.key, x.value, x.headers FROM record x
    WHERE x.topic = $1 AND x."partition" = $2
      AND x."offset" BETWEEN greatest(b.base_offset, p.log_start) AND b.last_offset
    OFFSET 0) r ON true
ORDER BY b.base_offset, r."offset"
)sql";

}  // namespace

awaitable<fetch_result> pg_engine::fetch(std::string_view topic, std::int32_t partition,
                                         std::int64_t offset, std::int32_t max_bytes,
                                         isolation) {
    auto op = query(fetch_sql, params().text(topic).i64(partition).i64(offset).i64(max_bytes));
    auto r = co_await std::move(op);
    fetch_result out;
    if (r.rows() == 0) {
        out.error = error_code::unknown_topic_or_partition;
        co_return out;
    }
    out.log_start = r.i64(0, 0);
    out.high_watermark = out.last_stable = r.i64(0, 1);
    if (offset < out.log_start || offset > out.high_watermark) {
        out.error = error_code::offset_out_of_range;
        co_return out;
    }
    const auto budget = static_cast<std::size_t>(std::max(max_bytes, 0));
    for (int i = 0; i < r.rows();) {
        if (r.is_null(i, 2) || r.is_null(i, 10)) {  // no batch, or a batch without live rows
            ++i;
            continue;
        }
        protocol::batch_builder_options o;
        o.base_offset = r.i64(i, 2);
        auto last = r.i64(i, 3);
        auto attributes = r.i64(i, 4);
        o.partition_leader_epoch = 0;
        o.base_timestamp = r.i64(i, 5);
        o.max_timestamp = r.i64(i, 6);
        o.last_offset_delta = static_cast<std::int32_t>(last - o.base_offset);
        o.producer_id = r.i64(i, 7);
        o.producer_epoch = static_cast<std::int16_t>(r.i64(i, 8));
        o.base_sequence = static_cast<std::int32_t>(r.i64(i, 9));
        o.transactional = attributes & protocol::batch_attr::transactional;
        o.control = attributes & protocol::batch_attr::control;
        o.log_append_time = attributes & protocol::batch_attr::log_append_time;
        std::vector<protocol::record> records;
        for (; i < r.rows() && !r.is_null(i, 2) && r.i64(i, 2) == o.base_offset; ++i) {
            if (r.is_null(i, 10)) continue;
            protocol::record rec;
            rec.offset_delta = static_cast<std::int32_t>(r.i64(i, 10) - o.base_offset);
            rec.timestamp_delta = o.log_append_time ? 0 : r.i64(i, 11) - o.base_timestamp;
            rec.key = r.opt(i, 12);
            rec.value = r.opt(i, 13);
            if (!r.is_null(i, 14)) {
                auto keys = read_array(r.field(i, 14));
                auto values = read_array(r.field(i, 15));
                for (std::size_t k = 0; k < keys.size(); ++k)
                    rec.headers.push_back(
                        {keys[k].value_or(""), k < values.size() ? values[k] : std::nullopt});
            }
            records.push_back(std::move(rec));
        }
        auto b = protocol::build_batch(o, records);
        // The SQL budget counts stored sizes; the rebuilt batch decides (first always goes).
        if (!out.records.empty() && out.records.size() + b.size() > budget) break;
        out.records += b;
    }
    co_return out;
}

awaitable<partition_offsets> pg_engine::offsets(std::string_view topic, std::int32_t partition) {
    auto op = query("SELECT log_start, next_offset FROM partition WHERE topic = $1 AND "
                    "\"partition\" = $2",
                    params().text(topic).i64(partition));
    auto r = co_await std::move(op);
    if (r.rows() == 0) co_return partition_offsets{error_code::unknown_topic_or_partition};
    co_return partition_offsets{error_code::none, r.i64(0, 0), r.i64(0, 1), r.i64(0, 1)};
}

awaitable<timestamp_lookup> pg_engine::offset_for_timestamp(std::string_view topic,
                                                            std::int32_t partition,
                                                            std::int64_t ts) {
    // Control records (transaction markers) are never a lookup result.
    auto op = query(
        "SELECT p.log_start, x.\"offset\", x.\"timestamp\" FROM partition p LEFT JOIN LATERAL ("
        "SELECT r.\"offset\", r.\"timestamp\" FROM record r JOIN batch b ON b.topic = r.topic "
        "AND b.\"partition\" = r.\"partition\" AND r.\"offset\" BETWEEN b.base_offset AND "
        "b.last_offset WHERE r.topic = p.topic AND r.\"partition\" = p.\"partition\" AND "
        "r.\"timestamp\" >= $3 AND r.\"offset\" >= p.log_start AND r.\"offset\" < p.next_offset "
        "AND (b.attributes & 32) = 0 ORDER BY r.\"offset\" LIMIT 1) x ON true "
        "WHERE p.topic = $1 AND p.\"partition\" = $2",
        params().text(topic).i64(partition).i64(ts));
    auto r = co_await std::move(op);
    if (r.rows() == 0) co_return timestamp_lookup{error_code::unknown_topic_or_partition};
    if (r.is_null(0, 1)) co_return timestamp_lookup{};
    co_return timestamp_lookup{error_code::none, r.i64(0, 1), r.i64(0, 2)};
}

awaitable<timestamp_lookup> pg_engine::max_timestamp(std::string_view topic,
                                                     std::int32_t partition) {
    auto op = query(
        "SELECT p.log_start, x.\"offset\", x.\"timestamp\" FROM partition p LEFT JOIN LATERAL ("
        "SELECT r.\"offset\", r.\"timestamp\" FROM record r WHERE r.topic = p.topic AND "
        "r.\"partition\" = p.\"partition\" AND r.\"offset\" >= p.log_start AND "
        "r.\"offset\" < p.next_offset ORDER BY r.\"timestamp\" DESC, r.\"offset\" ASC LIMIT 1) x "
        "ON true WHERE p.topic = $1 AND p.\"partition\" = $2",
        params().text(topic).i64(partition));
    auto r = co_await std::move(op);
    if (r.rows() == 0) co_return timestamp_lookup{error_code::unknown_topic_or_partition};
    if (r.is_null(0, 1)) co_return timestamp_lookup{};
    co_return timestamp_lookup{error_code::none, r.i64(0, 1), r.i64(0, 2)};
}

}  // namespace hako::storage::postgres
