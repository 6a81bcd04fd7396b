#pragma once
// A thin RAII layer over one sqlite3 connection: prepared statements cached by SQL text,
// typed binds and columns, and errors as exceptions carrying SQLite's message.
// Owned by the sqlite worker thread; never touched from another thread.

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hako::storage::sqlite {

struct sqlite_error : std::runtime_error {
    sqlite_error(int code, const std::string& what) : std::runtime_error(what), code(code) {}
    int code;
    bool busy() const { return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED; }
};

class statement {
public:
    statement(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}

    statement& bind(int i, std::int64_t v);
    statement& bind(int i, std::string_view text);  // TEXT
    statement& bind_blob(int i, const std::optional<std::string>& v);  // NULL when empty
    statement& bind_blob(int i, std::string_view v);
    statement& bind_null(int i);

    bool step();  // true: a row is ready; false: done. Throws sqlite_error.
    void run() { while (step()) {} }
    void reset();

    std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
    bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
    std::string text(int col) const;
    std::optional<std::string> blob(int col) const;  // nullopt for NULL
    std::string_view blob_view(int col) const;        // valid until the next step

private:
    sqlite3* db_;
    sqlite3_stmt* s_;
};

class db {
public:
    // Opens (creating if needed) and applies the pragmas. Throws sqlite_error.
    db(const std::string& path, int busy_timeout_ms, std::string_view synchronous);
    ~db();
    db(const db&) = delete;
    db& operator=(const db&) = delete;

    void exec(const char* sql);
    // Returns the cached statement for `sql`, reset and with bindings cleared.
    statement& prepare(const char* sql);
    std::int64_t changes() const { return sqlite3_changes64(h_); }
    sqlite3* handle() { return h_; }

private:
    sqlite3* h_ = nullptr;
    std::map<const char*, std::pair<sqlite3_stmt*, statement>> cache_;
};

}  // namespace hako::storage::sqlite
