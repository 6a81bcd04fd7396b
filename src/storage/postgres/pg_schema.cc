// Schema: versioned migrations in the engine's own schema namespace, the URL options we
// add on top of libpq's, and the SQL a DBA can apply by hand (`hako postgres schema`).
#include <libpq-fe.h>

#include <charconv>
#include <stdexcept>
#include <vector>

#include "storage/postgres/pg_engine.h"

namespace hako::storage::postgres {

namespace {

// Migration N brings the schema from version N-1 to N. Append only; never edit one that
// has shipped. @S@ is the quoted schema name, @C@ the NOTIFY channel as a string literal.
const std::vector<const char*> migrations = {
    // 1: the initial schema
    R"sql(
CREATE TABLE @S@.cluster_broker (
    node_id          integer PRIMARY KEY,
    host             text NOT NULL,
    port             integer NOT NULL,
    rack             text,
    lease_expiry_ms  bigint NOT NULL
);
CREATE TABLE @S@.topic (
    name        text PRIMARY KEY,
    id          bytea NOT NULL UNIQUE,
    partitions  integer NOT NULL,
    created_ms  bigint NOT NULL
);
CREATE TABLE @S@.topic_config (
    topic  text NOT NULL,
    name   text NOT NULL,
    value  text,
    PRIMARY KEY (topic, name)
);
-- next_offset is the high watermark: appends lock this row (FOR UPDATE) to allocate
-- offsets and move it in the same transaction, so committed rows are always dense.
CREATE TABLE @S@.partition (
    topic        text NOT NULL,
    "partition"  integer NOT NULL,
    log_start    bigint NOT NULL DEFAULT 0,
    next_offset  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, "partition")
);
-- one row per produced batch: what a batch header carries, so fetch can rebuild it
CREATE TABLE @S@.batch (
    topic           text NOT NULL,
    "partition"     integer NOT NULL,
    base_offset     bigint NOT NULL,
    last_offset     bigint NOT NULL,
    attributes      integer NOT NULL,
    base_timestamp  bigint NOT NULL,
    max_timestamp   bigint NOT NULL,
    producer_id     bigint NOT NULL,
    producer_epoch  integer NOT NULL,
    base_sequence   integer NOT NULL,
    record_count    integer NOT NULL,
    size_bytes      integer NOT NULL,
    PRIMARY KEY (topic, "partition", base_offset)
);
-- one row per record; headers as a jsonb array (README.md) so one COPY writes a record
CREATE TABLE @S@.record (
    topic        text NOT NULL,
    "partition"  integer NOT NULL,
    "offset"     bigint NOT NULL,
    "timestamp"  bigint NOT NULL,
    key          bytea,
    value        bytea,
    headers      jsonb,
    PRIMARY KEY (topic, "partition", "offset")
);
CREATE TABLE @S@.consumer_group (
    group_id  text PRIMARY KEY,
    data      bytea NOT NULL,
    version   bigint NOT NULL
);
-- versions never repeat, even across a delete and re-create of a group
CREATE SEQUENCE @S@.group_version START 1;
CREATE SEQUENCE @S@.producer_id MINVALUE 0 START 0;
CREATE TABLE @S@.committed_offset (
    group_id      text NOT NULL,
    topic         text NOT NULL,
    "partition"   integer NOT NULL,
    committed     bigint NOT NULL,
    leader_epoch  integer NOT NULL,
    metadata      text,
    commit_ms     bigint NOT NULL,
    PRIMARY KEY (group_id, topic, "partition")
);
CREATE TABLE @S@.producer_state (
    producer_id  bigint NOT NULL,
    topic        text NOT NULL,
    "partition"  integer NOT NULL,
    data         bytea NOT NULL,
    PRIMARY KEY (producer_id, topic, "partition")
);

-- Text of a bytea when it is valid UTF-8, else NULL (for the views).
CREATE FUNCTION @S@.try_text(b bytea) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN convert_from(b, 'UTF8');
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;

-- The stream as a table: one row per committed record, newest data included.
CREATE VIEW @S@.records AS
SELECT r.topic, r."partition", r."offset",
       to_timestamp(r."timestamp" / 1000.0) AS "timestamp",
       r.key, r.value,
       @S@.try_text(r.key) AS key_text,
       @S@.try_text(r.value) AS value_text,
       r.headers
FROM @S@.record r;

-- The transactional outbox, gone: call inside your own transaction. The offset is
-- allocated under the partition row lock, so Kafka producers on this partition wait for
-- your COMMIT or ROLLBACK; consumers see the record at the returned offset after COMMIT,
-- and never, with no hole, after ROLLBACK. headers: '[{"key":"k","value":"v"}]' or
-- '{"k":"v"}'.
CREATE FUNCTION @S@.produce(p_topic text, p_partition integer, p_key bytea, p_value bytea,
                            p_headers jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    o   bigint;
    ts  bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    h   jsonb := p_headers;
BEGIN
    SELECT next_offset INTO o FROM @S@.partition
        WHERE topic = p_topic AND "partition" = p_partition FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hako: unknown topic or partition %/%', p_topic, p_partition
            USING ERRCODE = 'undefined_object';
    END IF;
    IF h IS NOT NULL AND jsonb_typeof(h) = 'object' THEN
        SELECT jsonb_agg(jsonb_build_object('key', e.key, 'value', e.value #>> '{}'))
            INTO h FROM jsonb_each(h) e;
    END IF;
    IF h = '[]'::jsonb THEN h := NULL; END IF;
    INSERT INTO @S@.record (topic, "partition", "offset", "timestamp", key, value, headers)
        VALUES (p_topic, p_partition, o, ts, p_key, p_value, h);
    INSERT INTO @S@.batch (topic, "partition", base_offset, last_offset, attributes,
                           base_timestamp, max_timestamp, producer_id, producer_epoch,
                           base_sequence, record_count, size_bytes)
        VALUES (p_topic, p_partition, o, o, 0, ts, ts, -1, -1, -1, 1,
                80 + coalesce(octet_length(p_key), 0) + coalesce(octet_length(p_value), 0)
                   + coalesce(octet_length(h::text), 0));
    UPDATE @S@.partition SET next_offset = o + 1
        WHERE topic = p_topic AND "partition" = p_partition;
    PERFORM pg_notify(@C@, p_partition || ':' || p_topic);
    RETURN o;
END $$;
)sql",
};

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (auto p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    return s;
}

std::string literal(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
    }
    return out + "'";
}

std::string migration_sql(const std::string& schema, std::size_t i) {
    return replace_all(replace_all(migrations[i], "@S@", quote_ident(schema)), "@C@",
                       literal(channel_name(schema)));
}

// Blocking: runs once when the engine opens, before the broker serves anything.
void run(PGconn* c, const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    auto st = PQresultStatus(r);
    std::string err = PQresultErrorMessage(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        throw std::runtime_error("postgres migration failed: " + err);
}

}  // namespace

std::string quote_ident(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    return out + "\"";
}

std::string channel_name(std::string_view schema) {
    return ("hako:" + std::string(schema)).substr(0, 63);  // NAMEDATALEN - 1
}

std::string schema_sql(const std::string& schema) {
    std::string out = "-- hako PostgreSQL schema, version " + std::to_string(schema_version) +
                      ", in schema " + quote_ident(schema) + "\nBEGIN;\nCREATE SCHEMA IF NOT EXISTS " +
                      quote_ident(schema) + ";\nCREATE TABLE IF NOT EXISTS " + quote_ident(schema) +
                      ".schema_migration (version integer PRIMARY KEY, applied_at timestamptz "
                      "NOT NULL DEFAULT now());\n";
    for (std::size_t i = 0; i < migrations.size(); ++i)
        out += "-- migration " + std::to_string(i + 1) + migration_sql(schema, i) + "INSERT INTO " +
               quote_ident(schema) + ".schema_migration (version) VALUES (" +
               std::to_string(i + 1) + ");\n";
    return out + "COMMIT;\n";
}

void migrate(const url_options& o) {
    if (migrations.size() != static_cast<std::size_t>(schema_version))
        throw std::logic_error("schema_version does not match the migrations list");
    std::unique_ptr<PGconn, void (*)(PGconn*)> c(PQconnectdb(o.conninfo.c_str()), PQfinish);
    if (PQstatus(c.get()) != CONNECTION_OK)
        throw std::runtime_error(std::string("cannot connect to PostgreSQL: ") +
                                 PQerrorMessage(c.get()));
    PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
    auto s = quote_ident(o.schema);
    run(c.get(), "BEGIN");
    try {
        // Brokers starting together migrate one at a time.
        run(c.get(), "SELECT pg_advisory_xact_lock(hashtext(" + literal("hako migrate " + o.schema) + "))");
        run(c.get(), "CREATE SCHEMA IF NOT EXISTS " + s);
        run(c.get(), "CREATE TABLE IF NOT EXISTS " + s + ".schema_migration (version integer "
                     "PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
        PGresult* r = PQexec(c.get(), ("SELECT COALESCE(MAX(version), 0) FROM " + s + ".schema_migration").c_str());
        long current = PQresultStatus(r) == PGRES_TUPLES_OK ? std::atol(PQgetvalue(r, 0, 0)) : -1;
        PQclear(r);
        if (current < 0) throw std::runtime_error("cannot read the schema version");
        if (current > schema_version)
            throw std::runtime_error("the PostgreSQL schema " + s + " has version " +
                                     std::to_string(current) + " but this hako understands up to " +
                                     std::to_string(schema_version) + ": upgrade hako");
        for (auto v = current + 1; v <= schema_version; ++v) {
            run(c.get(), migration_sql(o.schema, static_cast<std::size_t>(v - 1)));
            run(c.get(), "INSERT INTO " + s + ".schema_migration (version) VALUES (" +
                             std::to_string(v) + ")");
        }
        run(c.get(), "COMMIT");
    } catch (...) {
        PQexec(c.get(), "ROLLBACK");
        throw;
    }
}

url_options parse_url(std::string_view url) {
    url_options o;
    auto q = url.find('?');
    std::string base(url.substr(0, q));
    std::vector<std::string> kept;
    auto rest = q == std::string_view::npos ? std::string_view() : url.substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        auto kv = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        auto eq = kv.find('=');
        auto k = kv.substr(0, eq);
        auto v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
        if (k == "schema") {
            if (v.empty()) throw std::invalid_argument("postgres URL: schema= needs a name");
            o.schema = std::string(v);
        } else if (k == "pool_size") {
            int n = 0;
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec != std::errc() || p != v.data() + v.size() || n < 1)
                throw std::invalid_argument("postgres URL: pool_size must be a positive number");
            o.pool_size = static_cast<std::size_t>(n);
        } else if (!kv.empty()) {
            kept.emplace_back(kv);  // libpq's own parameters (sslmode, ...), passed through
        }
    }
    o.conninfo = base;
    for (std::size_t i = 0; i < kept.size(); ++i) o.conninfo += (i ? "&" : "?") + kept[i];
    // libpq checks the rest; a bad URL fails here, at start-up, with libpq's message.
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(o.conninfo.c_str(), &err);
    if (!opts) {
        std::string msg = err ? err : "invalid connection URI";
        if (err) PQfreemem(err);
        throw std::invalid_argument("postgres URL: " + msg);
    }
    PQconninfoFree(opts);
    return o;
}

}  // namespace hako::storage::postgres
