// postgres:// engine: DeleteRecords, retention and compaction as SQL maintenance. None of
// these moves next_offset, so they never take the partition lock appends wait on, except
// DeleteRecords, which checks its target against the high watermark.
#include "storage/postgres/pg_engine.h"

namespace hako::storage::postgres {

namespace {

// Moves the log start to `start` (never backwards) and drops rows below it.
awaitable<void> trim_rows(connection& c, std::string topic, std::int32_t partition,
                          std::int64_t start) {
    auto op = c.query(
        "WITH u AS (UPDATE partition SET log_start = greatest(log_start, $3) WHERE topic = $1 "
        "AND \"partition\" = $2), r AS (DELETE FROM record WHERE topic = $1 AND \"partition\" = $2 "
        "AND \"offset\" < $3) DELETE FROM batch WHERE topic = $1 AND \"partition\" = $2 AND "
        "last_offset < $3",
        params().text(topic).i64(partition).i64(start));
    co_await std::move(op);
}

}  // namespace

awaitable<partition_offsets> pg_engine::delete_records(std::string_view topic,
                                                       std::int32_t partition,
                                                       std::int64_t offset) {
    auto acquire = pool_->acquire();
    auto c = co_await std::move(acquire);
    co_await c->exec("BEGIN");
    auto lock = c->query("SELECT log_start, next_offset FROM partition WHERE topic = $1 AND "
                         "\"partition\" = $2 FOR UPDATE",
                         params().text(topic).i64(partition));
    auto p = co_await std::move(lock);
    if (p.rows() == 0) {
        co_await c->exec("ROLLBACK");
        co_return partition_offsets{error_code::unknown_topic_or_partition};
    }
    auto log_start = p.i64(0, 0), hw = p.i64(0, 1);
    auto target = offset == -1 ? hw : offset;
    if (target < 0 || target > hw) {
        co_await c->exec("ROLLBACK");
        co_return partition_offsets{error_code::offset_out_of_range};
    }
    auto start = std::max(log_start, target);
    auto trim = trim_rows(*c, std::string(topic), partition, start);
    co_await std::move(trim);
    co_await c->exec("COMMIT");
    co_return partition_offsets{error_code::none, start, hw, hw};
}

awaitable<partition_offsets> pg_engine::maintain(std::string_view topic_view,
                                                 std::int32_t partition,
                                                 const retention_policy& pol_ref) {
    auto pol = pol_ref;
    std::string topic(topic_view);
    auto acquire = pool_->acquire();
    auto c = co_await std::move(acquire);
    co_await c->exec("BEGIN");
    auto read = c->query("SELECT log_start, next_offset FROM partition WHERE topic = $1 AND "
                         "\"partition\" = $2",
                         params().text(topic).i64(partition));
    auto p = co_await std::move(read);
    if (p.rows() == 0) {
        co_await c->exec("ROLLBACK");
        co_return partition_offsets{error_code::unknown_topic_or_partition};
    }
    auto log_start = p.i64(0, 0), hw = p.i64(0, 1);
    auto start = log_start;
    if (pol.retention_ms >= 0) {
        // everything before the first batch young enough to keep
        auto op = c->query("SELECT coalesce(min(base_offset), $4) FROM batch WHERE topic = $1 "
                           "AND \"partition\" = $2 AND max_timestamp >= $3",
                           params().text(topic).i64(partition).i64(pol.now_ms - pol.retention_ms).i64(hw));
        auto r = co_await std::move(op);
        start = std::max(start, r.i64(0, 0));
    }
    if (pol.retention_bytes >= 0) {
        // the oldest batch from which the newest batches still fit the budget
        auto op = c->query(
            "SELECT coalesce(min(base_offset), $4) FROM (SELECT base_offset, sum(size_bytes) "
            "OVER (ORDER BY base_offset DESC) AS total FROM batch WHERE topic = $1 AND "
            "\"partition\" = $2) x WHERE total <= $3",
            params().text(topic).i64(partition).i64(pol.retention_bytes).i64(hw));
        auto r = co_await std::move(op);
        start = std::max(start, r.i64(0, 0));
    }
    if (start > log_start) {
        auto trim = trim_rows(*c, topic, partition, start);
        co_await std::move(trim);
    }
    if (pol.compact) {
        // The newest record per key stays at its offset; older ones go once past the
        // compaction lag, and a newest tombstone goes after delete.retention.ms.
        auto op = c->query(
            "DELETE FROM record d USING (SELECT r.\"offset\", r.value IS NULL AS tomb, "
            "r.\"timestamp\" AS ts, row_number() OVER (PARTITION BY r.key ORDER BY r.\"offset\" "
            "DESC) AS rn FROM record r JOIN batch b ON b.topic = r.topic AND b.\"partition\" = "
            "r.\"partition\" AND r.\"offset\" BETWEEN b.base_offset AND b.last_offset WHERE "
            "r.topic = $1 AND r.\"partition\" = $2 AND r.key IS NOT NULL AND (b.attributes & 32) "
            "= 0) x WHERE d.topic = $1 AND d.\"partition\" = $2 AND d.\"offset\" = x.\"offset\" "
            "AND x.ts < $3 AND (x.rn > 1 OR (x.tomb AND x.ts < $4))",
            params().text(topic).i64(partition).i64(pol.now_ms - pol.min_compaction_lag_ms).i64(
                pol.now_ms - pol.delete_retention_ms));
        auto r = co_await std::move(op);
        if (r.affected() > 0) {
            auto empty = c->query(
                "DELETE FROM batch b WHERE b.topic = $1 AND b.\"partition\" = $2 AND NOT EXISTS "
                "(SELECT 1 FROM record r WHERE r.topic = $1 AND r.\"partition\" = $2 AND "
                "r.\"offset\" BETWEEN b.base_offset AND b.last_offset)",
                params().text(topic).i64(partition));
            co_await std::move(empty);
        }
    }
    co_await c->exec("COMMIT");
    co_return partition_offsets{error_code::none, std::max(start, log_start), hw, hw};
}

}  // namespace hako::storage::postgres
