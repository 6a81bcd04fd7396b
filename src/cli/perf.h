#pragma once
// `hako perf`: load generators built on librdkafka (the reference C client), so the figures
// are comparable with what the Kafka world measures. Shared between perf_cmd.cc (flags,
// progress line, report) and the produce / consume / startup runners. Each runner is called
// once from the main thread; it starts its own worker threads and joins them before returning.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "cli/perf_histogram.h"

namespace hako::cli::perf {

struct options {
    std::string broker = "127.0.0.1:9092";
    std::string topic = "hako-perf";
    std::int32_t partitions = 0;  // produce: > 0 creates the topic with that many partitions
    std::size_t record_size = 100;
    std::int32_t batch_size = 0;  // bytes per partition batch (Kafka batch.size); 0 = default
    double linger_ms = -1;        // < 0 = librdkafka default (5 ms)
    std::string acks = "1";
    std::string compression = "none";
    double rate = 0;  // records/s over all threads; 0 = unbounded
    int threads = 1;  // --producers / --consumers
    double duration_s = 0;
    std::int64_t records = 0;
    bool until_eof = false;  // consume: stop once every partition reached its end
    bool json = false;
    bool progress = true;
    std::vector<std::string> config;  // -X key=value, passed to librdkafka verbatim
    std::string stats_file;           // librdkafka statistics JSON lines, for diagnosis
};

// One per worker thread, written by that thread only and read by the progress line.
struct alignas(64) worker_counters {
    std::atomic<std::int64_t> records{0};
    std::atomic<std::int64_t> bytes{0};
    std::atomic<std::int64_t> errors{0};
};

struct result {
    std::string mode;
    std::int32_t partitions = 0;  // as found by consume; produce reports the option
    std::int64_t records = 0;
    std::int64_t bytes = 0;
    std::int64_t errors = 0;
    double seconds = 0;
    double start_ms = 0;  // consume: from assign() to the first record
    histogram latency_us;
    std::string first_error;
};

// Called by the runners: prints one progress line per second on stderr until `done` is set.
class progress_line {
public:
    progress_line(const options& o, const char* mode, const std::vector<worker_counters>& c);
    void run_until(const std::atomic<bool>& done);

private:
    const options& o_;
    const char* mode_;
    const std::vector<worker_counters>& counters_;
};

std::string bootstrap_servers(const std::string& broker);
// bootstrap.servers, client.id and every -X key=value; throws on a bad key or value.
rd_kafka_conf_t* base_conf(const options& o);
void set_conf(rd_kafka_conf_t* conf, const std::string& key, const std::string& value);
std::string fmt_double(double v);  // shortest text that reads back as v
// Set by the first SIGINT (the second one kills): runners stop and still print a summary.
extern std::atomic<bool> interrupted;
void catch_interrupt();

double now_s();                // steady clock, seconds
std::int64_t wall_us();        // system clock, microseconds since the epoch

result run_produce(const options& o);
result run_consume(const options& o);

struct startup_options {
    std::string broker = "127.0.0.1:9092";
    int runs = 20;
    double timeout_s = 10;       // for the first answer
    double stop_timeout_s = 1;   // for the exit after SIGTERM; then SIGKILL
    bool until_exit = false;     // time exec -> exit of the command instead
    bool json = false;
    std::vector<std::string> command;
};
int run_startup(const startup_options& o);

}  // namespace hako::cli::perf
