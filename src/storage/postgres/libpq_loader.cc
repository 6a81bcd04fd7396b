// libpq is loaded when a postgres:// engine first needs it, not when hako starts.
//
// Linked normally, libpq.so.5 brings eighteen libraries of its own (GnuTLS, Kerberos,
// LDAP, ...), whose loading and constructors were about 3 ms of every broker's start-up
// whatever its storage engine (bench/notes.md, "Start-up"). So the binary does not link
// libpq: it defines each libpq function the postgres engine calls, with the prototype from
// libpq-fe.h, and each forwards to the function of the same name in libpq.so.5, opened with
// dlopen on the first call. Call sites are plain libpq calls. A machine without libpq5
// gets a clear error from the first postgres:// connection; the other engines never
// notice.
#include <dlfcn.h>
#include <libpq-fe.h>

#include <stdexcept>
#include <string>

namespace {

void* libpq() {
    static void* handle = [] {
        void* h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
        if (!h)
            throw std::runtime_error(std::string("postgres:// needs libpq (Debian package libpq5): ") +
                                     dlerror());
        return h;
    }();
    return handle;
}

template <class F>
F* resolve(const char* name) {
    void* s = dlsym(libpq(), name);
    if (!s) throw std::runtime_error(std::string("libpq.so.5 has no ") + name);
    return reinterpret_cast<F*>(s);
}

}  // namespace

// Each forwarder looks its target up once. decltype(name) is the prototype libpq-fe.h
// declares, so a signature written wrong here does not compile.
#define HAKO_PQ(ret, name, params, args)                          \
    extern "C" ret name params {                                  \
        static auto* const target = resolve<decltype(name)>(#name); \
        return target args;                                       \
    }

HAKO_PQ(PGconn*, PQconnectdb, (const char* conninfo), (conninfo))
HAKO_PQ(PGconn*, PQconnectStart, (const char* conninfo), (conninfo))
HAKO_PQ(PostgresPollingStatusType, PQconnectPoll, (PGconn * conn), (conn))
HAKO_PQ(void, PQfinish, (PGconn * conn), (conn))
HAKO_PQ(ConnStatusType, PQstatus, (const PGconn* conn), (conn))
HAKO_PQ(PGTransactionStatusType, PQtransactionStatus, (const PGconn* conn), (conn))
HAKO_PQ(char*, PQerrorMessage, (const PGconn* conn), (conn))
HAKO_PQ(int, PQsocket, (const PGconn* conn), (conn))
HAKO_PQ(int, PQsetnonblocking, (PGconn * conn, int arg), (conn, arg))
HAKO_PQ(PQnoticeProcessor, PQsetNoticeProcessor,
        (PGconn * conn, PQnoticeProcessor proc, void* arg), (conn, proc, arg))
HAKO_PQ(PQconninfoOption*, PQconninfoParse, (const char* conninfo, char** errmsg),
        (conninfo, errmsg))
HAKO_PQ(void, PQconninfoFree, (PQconninfoOption * options), (options))

HAKO_PQ(PGresult*, PQexec, (PGconn * conn, const char* query), (conn, query))
HAKO_PQ(int, PQsendQuery, (PGconn * conn, const char* query), (conn, query))
HAKO_PQ(int, PQsendQueryParams,
        (PGconn * conn, const char* command, int n, const Oid* types, const char* const* values,
         const int* lengths, const int* formats, int result_format),
        (conn, command, n, types, values, lengths, formats, result_format))
HAKO_PQ(int, PQconsumeInput, (PGconn * conn), (conn))
HAKO_PQ(int, PQisBusy, (PGconn * conn), (conn))
HAKO_PQ(int, PQflush, (PGconn * conn), (conn))
HAKO_PQ(PGresult*, PQgetResult, (PGconn * conn), (conn))
HAKO_PQ(PGnotify*, PQnotifies, (PGconn * conn), (conn))
HAKO_PQ(int, PQputCopyData, (PGconn * conn, const char* buffer, int nbytes), (conn, buffer, nbytes))
HAKO_PQ(int, PQputCopyEnd, (PGconn * conn, const char* errormsg), (conn, errormsg))

HAKO_PQ(ExecStatusType, PQresultStatus, (const PGresult* res), (res))
HAKO_PQ(char*, PQresultErrorMessage, (const PGresult* res), (res))
HAKO_PQ(char*, PQresultErrorField, (const PGresult* res, int code), (res, code))
HAKO_PQ(int, PQntuples, (const PGresult* res), (res))
HAKO_PQ(char*, PQgetvalue, (const PGresult* res, int row, int col), (res, row, col))
HAKO_PQ(int, PQgetlength, (const PGresult* res, int row, int col), (res, row, col))
HAKO_PQ(int, PQgetisnull, (const PGresult* res, int row, int col), (res, row, col))
HAKO_PQ(char*, PQcmdTuples, (PGresult * res), (res))
HAKO_PQ(void, PQclear, (PGresult * res), (res))
HAKO_PQ(void, PQfreemem, (void* ptr), (ptr))
