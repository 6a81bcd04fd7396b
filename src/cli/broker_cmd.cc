// `hako broker`: serve the Kafka protocol from a storage engine.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <fmt/core.h>
#include <memory>

#include "broker/broker.h"
#include "client/sync_client.h"
#include "cli/commands.h"
#include "net/server.h"
#include "storage/postgres/pg_engine.h"
#include "storage/storage.h"

namespace hako::cli {

namespace {

struct broker_options {
    std::string listener_url = "tcp://0.0.0.0:9092";
    std::string advertised_url;
    std::string storage_url = "sqlite://hako.db";
    std::int32_t node_id = 0;
    std::string cluster_id = "hako-cluster";
    bool auto_create = true;
    std::int32_t default_partitions = 1;
    std::int32_t max_request_bytes = 100 * 1024 * 1024;
    std::int64_t max_inflight_bytes = 64 * 1024 * 1024;
    std::int64_t lease_ms = 10000;
    std::int64_t maintenance_interval_ms = 30000;
    broker::group::settings groups;
    bool silent = false;
    bool print_schema = false;
};

// Passwords never reach a log: user:secret@ becomes user:***@.
std::string redact(const std::string& url) {
    auto scheme = url.find("://");
    auto at = url.find('@');
    if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
    auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

int run(const broker_options& o, std::chrono::steady_clock::time_point started) {
    if (o.print_schema) {  // for a DBA who applies the SQL by hand
        auto scheme = o.storage_url.substr(0, o.storage_url.find("://"));
        if (scheme != "postgres" && scheme != "postgresql")
            throw std::invalid_argument("--print-schema needs a postgres:// --storage-engine URL");
        fmt::print("{}", storage::postgres::schema_sql(storage::postgres::parse_url(o.storage_url).schema));
        return 0;
    }
    broker::config cfg;
    auto [lhost, lport] = client::parse_host_port(o.listener_url);
    cfg.listener_host = lhost;
    cfg.listener_port = lport;
    std::string adv = o.advertised_url;
    if (adv.empty()) adv = "tcp://" + std::string(lhost == "0.0.0.0" ? "localhost" : lhost) + ":" +
                           std::to_string(lport);
    auto [ahost, aport] = client::parse_host_port(adv, lport);
    cfg.advertised_host = ahost;
    cfg.advertised_port = aport;
    cfg.node_id = o.node_id;
    cfg.cluster_id = o.cluster_id;
    cfg.auto_create_topics = o.auto_create;
    if (o.default_partitions < 1) throw std::invalid_argument("--default-partitions must be >= 1");
    cfg.default_partitions = o.default_partitions;
    cfg.max_request_bytes = o.max_request_bytes;
    cfg.max_inflight_bytes = o.max_inflight_bytes;
    if (o.lease_ms < 300) throw std::invalid_argument("--lease-ms must be >= 300");
    cfg.lease_ms = o.lease_ms;
    if (o.maintenance_interval_ms < 10)
        throw std::invalid_argument("--maintenance-interval-ms must be >= 10");
    cfg.maintenance_interval_ms = o.maintenance_interval_ms;
    const auto& g = o.groups;
    if (g.min_session_timeout_ms < 1 || g.max_session_timeout_ms < g.min_session_timeout_ms)
        throw std::invalid_argument(
            "--group-min-session-timeout-ms must be >= 1 and <= --group-max-session-timeout-ms");
    if (g.initial_rebalance_delay_ms < 0)
        throw std::invalid_argument("--group-initial-rebalance-delay-ms must be >= 0");
    if (g.offsets_retention_ms < 1 || g.offsets_retention_check_interval_ms < 1)
        throw std::invalid_argument(
            "--offsets-retention-ms and --offsets-retention-check-interval-ms must be >= 1");
    cfg.groups = g;

    boost::asio::io_context io(1);
    auto engine = storage::open_engine(o.storage_url, io.get_executor());
    auto* engine_ptr = engine.get();  // the broker owns it; shutdown() ends its background work
    broker::broker b(cfg, std::move(engine), io.get_executor());
    net::server srv(io, b);
    try {
        srv.listen(cfg.listener_host, cfg.listener_port);
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen on " + o.listener_url + ": " + e.code().message() +
                                 " (is another broker running? choose --listener-url)");
    }
    const auto bound_port = srv.port();  // read before a signal can close the acceptor

    // One io.run() for the broker's whole life: registration, then the background loops.
    // A signal may arrive at any point, even before registration completes; stop() makes
    // every loop that starts later end at once (after giving up the lease).
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    std::exception_ptr failure;
    // Loops that still use storage once stopped (the lease give-up, the final save): the
    // engine is shut down after them, or after a few seconds' grace if storage hangs.
    int holding = 0;
    bool finished = false;
    boost::asio::steady_timer grace(io);
    auto finish = [&] {
        if (finished) return;
        finished = true;
        grace.cancel();
        engine_ptr->shutdown();
        boost::system::error_code ignored;
        signals.cancel(ignored);
    };
    auto stop_all = [&] {
        srv.stop();
        b.stop();
        if (holding == 0) return finish();
        grace.expires_after(std::chrono::seconds(5));
        grace.async_wait([&](const boost::system::error_code& ec) {
            if (!ec) finish();
        });
    };
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (!o.silent) fmt::print(stderr, "hako: signal {}, shutting down\n", sig);
        stop_all();
    });
    auto on_exit = [&](std::exception_ptr e) {
        if (e && !failure) {
            failure = e;
            stop_all();
        }
    };
    auto released = [&](std::exception_ptr e) {
        --holding;
        on_exit(e);
        if (b.stopping() && holding == 0) finish();
    };
    boost::asio::co_spawn(io, b.start(), [&](std::exception_ptr e) {
        if (e) return on_exit(e);
        holding += 2;
        boost::asio::co_spawn(io, b.keep_lease(), released);
        boost::asio::co_spawn(io, b.save_loop(), released);
        boost::asio::co_spawn(io, b.maintenance_loop(), on_exit);
        boost::asio::co_spawn(io, b.groups().run(), on_exit);
        if (o.silent) return;
        auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                            started).count();
        fmt::print(stderr,
                   "hako {} broker node {} | listening on {}:{} | advertised {}:{} | storage {} | "
                   "ready in {:.1f} ms\n",
                   HAKO_VERSION, cfg.node_id, cfg.listener_host, bound_port, cfg.advertised_host,
                   cfg.advertised_port, redact(o.storage_url), ms);
    });
    io.run();
    if (failure) std::rethrow_exception(failure);
    return 0;
}

}  // namespace

std::function<int()> add_broker_command(CLI::App& app) {
    auto started = std::chrono::steady_clock::now();
    auto o = std::make_shared<broker_options>();
    // Broker flags live on the top-level app too, so `hako --storage-engine ...` works.
    auto add = [o](CLI::App* c) {
        c->add_option("--listener-url,-l", o->listener_url, "address to listen on, tcp://host:port")
            ->envname("LISTENER_URL")
            ->capture_default_str();
        c->add_option("--advertised-listener-url,-a", o->advertised_url,
                      "address clients are told to connect to (default: from the listener)")
            ->envname("ADVERTISED_LISTENER_URL");
        c->add_option("--storage-engine,-s", o->storage_url,
                      "storage URL: sqlite://path (embedded default), memory:// (ephemeral), "
                      "postgres://user@host/db?schema=hako (any libpq URL), "
                      "s3://bucket/prefix (AWS_* environment; see src/storage/s3/README.md)")
            ->envname("STORAGE_ENGINE")
            ->capture_default_str();
        c->add_option("--node-id", o->node_id, "this broker's node id")
            ->envname("NODE_ID")
            ->capture_default_str();
        c->add_option("--cluster-id", o->cluster_id, "cluster id reported to clients")
            ->envname("CLUSTER_ID")
            ->capture_default_str();
        c->add_option("--auto-create-topics", o->auto_create,
                      "create unknown topics when a client asks for their metadata")
            ->envname("AUTO_CREATE_TOPICS")
            ->capture_default_str();
        c->add_option("--default-partitions", o->default_partitions,
                      "partitions of auto-created topics and of CreateTopics with -1")
            ->envname("DEFAULT_PARTITIONS")
            ->capture_default_str();
        c->add_option("--max-request-bytes", o->max_request_bytes,
                      "largest request frame accepted; larger ones close the connection")
            ->envname("MAX_REQUEST_BYTES")
            ->capture_default_str();
        c->add_option("--max-inflight-bytes", o->max_inflight_bytes,
                      "produce requests of one connection handled at once hold at most this "
                      "many bytes (more: faster against remote storage, more memory; 0: one "
                      "request at a time)")
            ->envname("MAX_INFLIGHT_BYTES")
            ->check(CLI::NonNegativeNumber)
            ->capture_default_str();
        c->add_option("--lease-ms", o->lease_ms,
                      "registration lease: a broker that stops renewing (crashed) leaves "
                      "Metadata after this long")
            ->envname("LEASE_MS")
            ->capture_default_str();
        c->add_option("--maintenance-interval-ms", o->maintenance_interval_ms,
                      "how often retention (retention.ms/bytes) and compaction run")
            ->envname("MAINTENANCE_INTERVAL_MS")
            ->capture_default_str();
        c->add_option("--group-initial-rebalance-delay-ms", o->groups.initial_rebalance_delay_ms,
                      "how long a new consumer group waits for more members before its first "
                      "generation (Kafka's group.initial.rebalance.delay.ms)")
            ->envname("GROUP_INITIAL_REBALANCE_DELAY_MS")
            ->capture_default_str();
        c->add_option("--group-min-session-timeout-ms", o->groups.min_session_timeout_ms,
                      "smallest session.timeout.ms a consumer may ask for")
            ->envname("GROUP_MIN_SESSION_TIMEOUT_MS")
            ->capture_default_str();
        c->add_option("--group-max-session-timeout-ms", o->groups.max_session_timeout_ms,
                      "largest session.timeout.ms a consumer may ask for")
            ->envname("GROUP_MAX_SESSION_TIMEOUT_MS")
            ->capture_default_str();
        c->add_option("--offsets-retention-ms", o->groups.offsets_retention_ms,
                      "committed offsets of a group that has been empty this long are deleted "
                      "(Kafka's offsets.retention.minutes, default 7 days)")
            ->envname("OFFSETS_RETENTION_MS")
            ->capture_default_str();
        c->add_option("--offsets-retention-check-interval-ms",
                      o->groups.offsets_retention_check_interval_ms,
                      "how often expired committed offsets are looked for")
            ->envname("OFFSETS_RETENTION_CHECK_INTERVAL_MS")
            ->capture_default_str();
        c->add_flag("--silent", o->silent, "no banner or shutdown message")->envname("SILENT");
        c->add_flag("--print-schema", o->print_schema,
                    "print the SQL that creates the postgres:// schema (named by ?schema=, "
                    "default hako) and exit; the broker also applies it itself");
    };
    auto* sub = app.add_subcommand("broker", "run a broker (the default subcommand)");
    add(sub);
    add(&app);
    return [o, started] { return run(*o, started); };
}

}  // namespace hako::cli
