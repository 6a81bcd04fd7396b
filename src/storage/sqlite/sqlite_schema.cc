// Schema creation and versioned migrations, recorded in the database itself.
#include <chrono>
#include <charconv>
#include <vector>

#include "storage/sqlite/sqlite_engine.h"

namespace hako::storage::sqlite {

namespace {

// Migration N brings the schema from version N-1 to N. Append only; never edit one that
// has shipped.
const std::vector<const char*> migrations = {
    // 1: the initial schema
    R"sql(
CREATE TABLE cluster_broker (
    node_id          INTEGER PRIMARY KEY,
    host             TEXT NOT NULL,
    port             INTEGER NOT NULL,
    rack             TEXT,
    lease_expiry_ms  INTEGER NOT NULL
);
CREATE TABLE topic (
    name        TEXT PRIMARY KEY,
    id          BLOB NOT NULL UNIQUE,
    partitions  INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL
);
CREATE TABLE topic_config (
    topic  TEXT NOT NULL,
    name   TEXT NOT NULL,
    value  TEXT,
    PRIMARY KEY (topic, name)
) WITHOUT ROWID;
CREATE TABLE partition (
    topic        TEXT NOT NULL,
    "partition"  INTEGER NOT NULL,
    log_start    INTEGER NOT NULL DEFAULT 0,
    next_offset  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, "partition")
) WITHOUT ROWID;
-- one row per produced batch: what the batch header carries, so fetch can rebuild it
CREATE TABLE batch (
    topic           TEXT NOT NULL,
    "partition"     INTEGER NOT NULL,
    base_offset     INTEGER NOT NULL,
    last_offset     INTEGER NOT NULL,
    attributes      INTEGER NOT NULL,
    base_timestamp  INTEGER NOT NULL,
    max_timestamp   INTEGER NOT NULL,
    producer_id     INTEGER NOT NULL,
    producer_epoch  INTEGER NOT NULL,
    base_sequence   INTEGER NOT NULL,
    record_count    INTEGER NOT NULL,
    PRIMARY KEY (topic, "partition", base_offset)
) WITHOUT ROWID;
-- one row per record: `select * from record where topic = 'orders'` shows the stream
CREATE TABLE record (
    topic        TEXT NOT NULL,
    "partition"  INTEGER NOT NULL,
    "offset"     INTEGER NOT NULL,
    timestamp    INTEGER NOT NULL,
    key          BLOB,
    value        BLOB,
    PRIMARY KEY (topic, "partition", "offset")
) WITHOUT ROWID;
CREATE TABLE record_header (
    topic        TEXT NOT NULL,
    "partition"  INTEGER NOT NULL,
    "offset"     INTEGER NOT NULL,
    idx          INTEGER NOT NULL,
    key          TEXT NOT NULL,
    value        BLOB,
    PRIMARY KEY (topic, "partition", "offset", idx)
) WITHOUT ROWID;
CREATE TABLE consumer_group (
    group_id  TEXT PRIMARY KEY,
    data      BLOB NOT NULL,
    version   INTEGER NOT NULL
);
CREATE TABLE committed_offset (
    group_id      TEXT NOT NULL,
    topic         TEXT NOT NULL,
    "partition"   INTEGER NOT NULL,
    committed     INTEGER NOT NULL,
    leader_epoch  INTEGER NOT NULL,
    metadata      TEXT,
    commit_ms     INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, "partition")
) WITHOUT ROWID;
)sql",
    // 2: stored batch sizes, for retention.bytes
    R"sql(
ALTER TABLE batch ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3: idempotent producers
    R"sql(
CREATE TABLE producer_id_sequence (
    id    INTEGER PRIMARY KEY CHECK (id = 0),
    next  INTEGER NOT NULL
);
INSERT INTO producer_id_sequence (id, next) VALUES (0, 0);
CREATE TABLE producer_state (
    producer_id  INTEGER NOT NULL,
    topic        TEXT NOT NULL,
    "partition"  INTEGER NOT NULL,
    data         BLOB NOT NULL,
    PRIMARY KEY (producer_id, topic, "partition")
) WITHOUT ROWID;
)sql",
    // 4: group versions from one sequence, so a deleted and re-created group never
    // repeats a version a stale coordinator may still hold
    R"sql(
CREATE TABLE group_version_sequence (
    id    INTEGER PRIMARY KEY CHECK (id = 0),
    next  INTEGER NOT NULL
);
INSERT INTO group_version_sequence (id, next)
    SELECT 0, COALESCE(MAX(version), 0) + 1 FROM consumer_group;
)sql",
};

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int parse_int(std::string_view v, std::string_view name) {
    int n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size())
        throw std::invalid_argument("sqlite URL: " + std::string(name) + "=" + std::string(v) +
                                    " is not a number");
    return n;
}

}  // namespace

void migrate(db& d) {
    static_assert(true);
    if (migrations.size() != static_cast<std::size_t>(schema_version))
        throw std::logic_error("schema_version does not match the migrations list");
    d.exec("BEGIN IMMEDIATE");
    try {
        d.exec("CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, "
               "applied_ms INTEGER NOT NULL)");
        auto& q = d.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migration");
        q.step();
        auto current = q.int64(0);
        q.reset();
        if (current > schema_version)
            throw std::runtime_error(
                "the SQLite database has schema version " + std::to_string(current) +
                " but this hako understands up to " + std::to_string(schema_version) +
                ": upgrade hako, or point --storage-engine at another file");
        for (auto v = current + 1; v <= schema_version; ++v) {
            d.exec(migrations[static_cast<std::size_t>(v - 1)]);
            d.prepare("INSERT INTO schema_migration (version, applied_ms) VALUES (?, ?)")
                .bind(1, v)
                .bind(2, now_ms())
                .run();
        }
        d.exec("COMMIT");
    } catch (...) {
        d.exec("ROLLBACK");
        throw;
    }
}

open_options parse_url(std::string_view url) {
    open_options o;
    auto rest = url.substr(url.find("://") + 3);
    auto q = rest.find('?');
    o.path = std::string(rest.substr(0, q));
    if (o.path.empty())
        throw std::invalid_argument("sqlite URL needs a file: sqlite://hako.db or sqlite:///abs/path.db");
    if (q == std::string_view::npos) return o;
    auto params = rest.substr(q + 1);
    while (!params.empty()) {
        auto amp = params.find('&');
        auto kv = params.substr(0, amp);
        params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
        auto eq = kv.find('=');
        auto k = kv.substr(0, eq);
        auto v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
        if (k == "busy_timeout")
            o.busy_timeout_ms = parse_int(v, k);
        else if (k == "synchronous") {
            if (v != "FULL" && v != "NORMAL" && v != "EXTRA" && v != "full" && v != "normal" &&
                v != "extra")
                throw std::invalid_argument("sqlite URL: synchronous must be FULL, NORMAL or EXTRA");
            o.synchronous = std::string(v);
        } else if (k == "max_batch")
            o.max_batch = static_cast<std::size_t>(std::max(1, parse_int(v, k)));
        else if (k == "max_batch_bytes")
            o.max_batch_bytes = static_cast<std::size_t>(std::max(1, parse_int(v, k)));
        else
            throw std::invalid_argument("sqlite URL: unknown parameter '" + std::string(k) +
                                        "' (known: busy_timeout, synchronous, max_batch, max_batch_bytes)");
    }
    return o;
}

std::optional<std::pair<std::int64_t, std::int64_t>> read_partition(db& d, std::string_view topic,
                                                                    std::int32_t partition) {
    auto& q = d.prepare(
        "SELECT log_start, next_offset FROM partition WHERE topic = ? AND \"partition\" = ?");
    q.bind(1, topic).bind(2, partition);
    if (!q.step()) return std::nullopt;
    std::pair<std::int64_t, std::int64_t> r{q.int64(0), q.int64(1)};
    q.reset();
    return r;
}

}  // namespace hako::storage::sqlite
