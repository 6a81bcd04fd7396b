#include "storage/sqlite/sqlite_db.h"

namespace hako::storage::sqlite {

namespace {
[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
    throw sqlite_error(rc, std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}
}  // namespace

statement& statement::bind(int i, std::int64_t v) {
    if (int rc = sqlite3_bind_int64(s_, i, v); rc != SQLITE_OK) fail(db_, rc, "bind");
    return *this;
}
statement& statement::bind(int i, std::string_view text) {
    if (int rc = sqlite3_bind_text(s_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
        rc != SQLITE_OK)
        fail(db_, rc, "bind");
    return *this;
}
statement& statement::bind_blob(int i, const std::optional<std::string>& v) {
    if (!v) return bind_null(i);
    return bind_blob(i, std::string_view(*v));
}
statement& statement::bind_blob(int i, std::string_view v) {
    // a zero-length non-NULL blob needs a non-null pointer
    static const char empty = 0;
    if (int rc = sqlite3_bind_blob64(s_, i, v.empty() ? &empty : v.data(), v.size(), SQLITE_TRANSIENT);
        rc != SQLITE_OK)
        fail(db_, rc, "bind");
    return *this;
}
statement& statement::bind_null(int i) {
    if (int rc = sqlite3_bind_null(s_, i); rc != SQLITE_OK) fail(db_, rc, "bind");
    return *this;
}

bool statement::step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(s_);
    throw sqlite_error(rc, "sqlite: " + msg);
}

void statement::reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
}

std::string statement::text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
}

std::optional<std::string> statement::blob(int col) const {
    if (is_null(col)) return std::nullopt;
    return std::string(blob_view(col));
}

std::string_view statement::blob_view(int col) const {
    auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
    auto n = static_cast<std::size_t>(sqlite3_column_bytes(s_, col));
    return p ? std::string_view(p, n) : std::string_view();
}

db::db(const std::string& path, int busy_timeout_ms, std::string_view synchronous) {
    int rc = sqlite3_open_v2(path.c_str(), &h_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = h_ ? sqlite3_errmsg(h_) : sqlite3_errstr(rc);
        sqlite3_close(h_);
        h_ = nullptr;
        throw sqlite_error(rc, "cannot open SQLite database '" + path + "': " + msg);
    }
    sqlite3_busy_timeout(h_, busy_timeout_ms);
    exec("PRAGMA journal_mode=WAL");
    exec(("PRAGMA synchronous=" + std::string(synchronous)).c_str());
    exec("PRAGMA foreign_keys=OFF");
}

db::~db() {
    for (auto& [_, e] : cache_) sqlite3_finalize(e.first);
    sqlite3_close_v2(h_);
}

void db::exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(h_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw sqlite_error(rc, "sqlite: " + msg + " (in: " + std::string(sql).substr(0, 80) + ")");
    }
}

statement& db::prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v3(h_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
        if (rc != SQLITE_OK) fail(h_, rc, std::string("prepare '") + sql + "'");
        it = cache_.emplace(sql, std::pair{s, statement(h_, s)}).first;
    }
    it->second.second.reset();
    return it->second.second;
}

}  // namespace hako::storage::sqlite
