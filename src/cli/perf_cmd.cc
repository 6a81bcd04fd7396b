// `hako perf produce|consume|startup`: measure a broker (ours or any Kafka broker) with
// librdkafka clients, print a live progress line and a summary (optionally one JSON line).
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fmt/core.h>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/perf.h"

namespace hako::cli {

namespace perf {

std::atomic<bool> interrupted{false};

void catch_interrupt() {
    struct sigaction sa {};
    sa.sa_handler = [](int) { interrupted.store(true); };
    sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the process the usual way
    sigaction(SIGINT, &sa, nullptr);
}

std::string fmt_double(double v) { return fmt::format("{}", v); }

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::int64_t wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string bootstrap_servers(const std::string& broker) {
    std::string out;
    std::size_t pos = 0;
    while (pos <= broker.size()) {
        auto comma = broker.find(',', pos);
        auto one = broker.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (one.rfind("tcp://", 0) == 0) one = one.substr(6);
        if (!one.empty()) out += (out.empty() ? "" : ",") + one;
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    if (out.empty()) throw std::invalid_argument("--broker is empty; use host:port");
    return out;
}

void set_conf(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
        throw std::invalid_argument("librdkafka setting " + key + "=" + value + ": " + err);
}

namespace {

std::mutex stats_mu;
std::FILE* stats_out = nullptr;

int on_stats(rd_kafka_t*, char* json, std::size_t len, void*) {
    std::lock_guard lock(stats_mu);
    if (stats_out) {
        std::fwrite(json, 1, len, stats_out);
        std::fputc('\n', stats_out);
        std::fflush(stats_out);
    }
    return 0;  // librdkafka frees json
}

}  // namespace

rd_kafka_conf_t* base_conf(const options& o) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    try {
        set_conf(conf, "bootstrap.servers", bootstrap_servers(o.broker));
        set_conf(conf, "client.id", "hako-perf");
        if (!o.stats_file.empty()) {
            std::lock_guard lock(stats_mu);
            if (!stats_out && !(stats_out = std::fopen(o.stats_file.c_str(), "w")))
                throw std::runtime_error("cannot write --stats-file " + o.stats_file);
            set_conf(conf, "statistics.interval.ms", "1000");
            rd_kafka_conf_set_stats_cb(conf, on_stats);
        }
        for (const auto& kv : o.config) {
            auto eq = kv.find('=');
            if (eq == std::string::npos)
                throw std::invalid_argument("-X expects key=value, got '" + kv + "'");
            set_conf(conf, kv.substr(0, eq), kv.substr(eq + 1));
        }
    } catch (...) {
        rd_kafka_conf_destroy(conf);
        throw;
    }
    return conf;
}

progress_line::progress_line(const options& o, const char* mode,
                             const std::vector<worker_counters>& c)
    : o_(o), mode_(mode), counters_(c) {}

void progress_line::run_until(const std::atomic<bool>& done) {
    const bool tty = isatty(STDERR_FILENO) != 0;
    const double start = now_s();
    double last_t = start;
    std::int64_t last_records = 0, last_bytes = 0;
    double next = start + 1;
    bool printed = false;
    while (!done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        double t = now_s();
        if (t < next) continue;
        next += 1;
        std::int64_t records = 0, bytes = 0, errors = 0;
        for (const auto& c : counters_) {
            records += c.records.load(std::memory_order_relaxed);
            bytes += c.bytes.load(std::memory_order_relaxed);
            errors += c.errors.load(std::memory_order_relaxed);
        }
        double dt = t - last_t;
        if (o_.progress) {
            fmt::print(stderr, "{}perf {}: {:5.0f} s  {:>10.0f} records/s  {:8.2f} MB/s  total {}{}{}",
                       tty ? "\r" : "", mode_, t - start,
                       static_cast<double>(records - last_records) / dt,
                       static_cast<double>(bytes - last_bytes) / dt / 1e6, records,
                       errors ? fmt::format("  errors {}", errors) : std::string(),
                       tty ? "   " : "\n");
            std::fflush(stderr);
            printed = true;
        }
        last_t = t;
        last_records = records;
        last_bytes = bytes;
    }
    if (printed && tty) fmt::print(stderr, "\n");
}

namespace {

double ms(std::uint64_t us) { return static_cast<double>(us) / 1000.0; }

void report(const options& o, const result& r, const char* latency_name) {
    double rps = r.seconds > 0 ? static_cast<double>(r.records) / r.seconds : 0;
    double mbps = r.seconds > 0 ? static_cast<double>(r.bytes) / r.seconds / 1e6 : 0;
    const auto& h = r.latency_us;
    if (o.json) {
        fmt::print(
            "{{\"mode\":\"{}\",\"topic\":\"{}\",\"record_size\":{},\"partitions\":{},"
            "\"acks\":\"{}\",\"compression\":\"{}\",\"rate\":{},\"threads\":{},"
            "\"records\":{},\"bytes\":{},\"errors\":{},\"seconds\":{:.4f},"
            "\"records_per_s\":{:.1f},\"mb_per_s\":{:.3f},\"start_ms\":{:.1f},\"latency\":\"{}\","
            "\"latency_ms\":{{\"p50\":{:.3f},\"p99\":{:.3f},\"p999\":{:.3f},\"max\":{:.3f}}}}}\n",
            r.mode, o.topic,
            r.mode == "consume" ? (r.records ? r.bytes / r.records : 0)
                                : static_cast<std::int64_t>(o.record_size),
            r.partitions ? r.partitions : o.partitions, o.acks, o.compression, o.rate,
            o.threads, r.records, r.bytes, r.errors, r.seconds, rps, mbps, r.start_ms, latency_name,
            ms(h.percentile(0.50)), ms(h.percentile(0.99)), ms(h.percentile(0.999)), ms(h.max()));
    } else {
        fmt::print("{}: {} records, {} bytes in {:.2f} s: {:.0f} records/s, {:.2f} MB/s\n", r.mode,
                   r.records, r.bytes, r.seconds, rps, mbps);
        fmt::print("{} latency (ms): p50 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}\n",
                   latency_name, ms(h.percentile(0.50)), ms(h.percentile(0.99)),
                   ms(h.percentile(0.999)), ms(h.max()));
        if (r.start_ms > 0)
            fmt::print("first record {:.1f} ms after assign (not counted in the rate)\n",
                       r.start_ms);
        if (r.errors) fmt::print("errors: {}\n", r.errors);
    }
    if (r.errors && !r.first_error.empty())
        fmt::print(stderr, "hako perf {}: {} errors; first: {}\n", r.mode, r.errors, r.first_error);
    std::fflush(stdout);
}

void add_common(CLI::App* c, options& o, const char* threads_flag, const char* threads_what) {
    c->add_option("--broker,-b", o.broker, "bootstrap broker(s), host:port[,host:port]")
        ->capture_default_str();
    c->add_option("--topic,-t", o.topic, "topic")->capture_default_str();
    c->add_option(threads_flag, o.threads, threads_what)->check(CLI::Range(1, 256))
        ->capture_default_str();
    c->add_option("--duration,-d", o.duration_s, "stop after this many seconds (0 = no limit)")
        ->check(CLI::NonNegativeNumber);
    c->add_option("--records,-n", o.records, "stop after this many records in all (0 = no limit)")
        ->check(CLI::NonNegativeNumber);
    c->add_flag("--json", o.json, "print the summary as one JSON line on stdout");
    c->add_flag("!--no-progress", o.progress, "no progress line on stderr");
    c->add_option("-X,--config", o.config, "librdkafka setting key=value (repeatable)");
    c->add_option("--stats-file", o.stats_file,
                  "write librdkafka's statistics (JSON, one line a second per client) here");
}

}  // namespace

}  // namespace perf

std::function<int()> add_perf_command(CLI::App& app) {
    auto* perf_cmd = app.add_subcommand(
        "perf", "measure a Kafka broker with librdkafka clients (throughput, latency, start-up)");
    perf_cmd->require_subcommand(1);

    auto po = std::make_shared<perf::options>();
    auto* prod = perf_cmd->add_subcommand(
        "produce", "produce records as fast as possible (or at --rate); latency is produce() to "
                   "delivery report");
    perf::add_common(prod, *po, "--producers", "producer threads, each with its own client");
    prod->add_option("--partitions,-p", po->partitions,
                     "create the topic with this many partitions first (0 = use it as it is, "
                     "or let the broker auto-create it)")
        ->check(CLI::NonNegativeNumber);
    prod->add_option("--record-size,-s", po->record_size, "value bytes per record")
        ->check(CLI::Range(0, 100 << 20))->capture_default_str();
    prod->add_option("--batch-size", po->batch_size,
                     "maximum bytes per partition batch (batch.size; 0 = librdkafka default)")
        ->check(CLI::NonNegativeNumber);
    prod->add_option("--linger-ms", po->linger_ms,
                     "wait this long to fill a batch (linger.ms; default librdkafka's 5)")
        ->check(CLI::NonNegativeNumber);
    prod->add_option("--acks", po->acks, "0, 1 or all")
        ->check(CLI::IsMember({"0", "1", "all", "-1"}))->capture_default_str();
    prod->add_option("--compression,-z", po->compression, "none, gzip, snappy, lz4 or zstd")
        ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}))->capture_default_str();
    prod->add_option("--rate,-r", po->rate, "target records/s over all producers (0 = unbounded)")
        ->check(CLI::NonNegativeNumber);

    auto co = std::make_shared<perf::options>();
    auto* cons = perf_cmd->add_subcommand(
        "consume", "read every partition from the beginning (assign, no group); latency is record "
                   "timestamp to receipt");
    perf::add_common(cons, *co, "--consumers", "consumer threads, each with its own client; "
                                               "partitions are dealt out round-robin");
    cons->add_flag("--until-eof", co->until_eof,
                   "stop once every partition has been read to its end (the default when "
                   "neither --records nor --duration is given)");

    auto so = std::make_shared<perf::startup_options>();
    auto* start = perf_cmd->add_subcommand(
        "startup", "time from exec of a broker command to its first ApiVersions answer");
    start->add_option("--broker,-b", so->broker, "address the started broker listens on")
        ->capture_default_str();
    start->add_option("--runs", so->runs, "how many times to start it")
        ->check(CLI::Range(1, 100000))->capture_default_str();
    start->add_option("--timeout", so->timeout_s, "seconds to wait for one answer")
        ->capture_default_str();
    start->add_option("--stop-timeout", so->stop_timeout_s,
                      "seconds to wait for the exit after SIGTERM before SIGKILL (counted as a "
                      "hang)")
        ->capture_default_str();
    start->add_flag("--until-exit", so->until_exit,
                    "time exec -> exit of the command instead (e.g. of `hako --version`)");
    start->add_flag("--json", so->json, "print the summary as one JSON line on stdout");
    start->add_option("command", so->command,
                      "the broker command, after --, e.g. -- hako broker --listener-url "
                      "tcp://127.0.0.1:9092 --storage-engine memory:// --silent")
        ->required();

    return [=]() -> int {
        perf::catch_interrupt();
        if (prod->parsed()) {
            if (po->duration_s == 0 && po->records == 0) po->duration_s = 10;
            auto r = perf::run_produce(*po);
            perf::report(*po, r, "ack");
            return r.records > 0 && r.errors == 0 ? 0 : 1;
        }
        if (cons->parsed()) {
            if (co->duration_s == 0 && co->records == 0) co->until_eof = true;
            auto r = perf::run_consume(*co);
            perf::report(*co, r, "end-to-end");
            return r.records > 0 && r.errors == 0 ? 0 : 1;
        }
        return perf::run_startup(*so);
    };
}

}  // namespace hako::cli
