// `hako perf consume`: N consumer threads, each with its own rd_kafka_t, assigned (no group
// membership) a round-robin share of the topic's partitions from the beginning. Latency is
// end to end: the record's timestamp (set by the producer, milliseconds) to its receipt here.
#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include "cli/perf.h"

namespace hako::cli::perf {

namespace {

struct consumer_ctx {
    worker_counters* counters = nullptr;
    histogram latency_us;
    std::string first_error;
    int eof_partitions = 0;
    double first_record_s = 0;  // steady clock time of the first record, 0 = none yet
};

// The topic's partition count, from a Metadata request on a short-lived handle.
int partition_count(const options& o) {
    rd_kafka_conf_t* conf = base_conf(o);
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("cannot create client: ") + err);
    }
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
    int count = -1;
    std::string problem;
    const double deadline = now_s() + 10;
    while (count < 0 && now_s() < deadline) {
        const rd_kafka_metadata_t* md = nullptr;
        auto e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (e) {
            problem = rd_kafka_err2str(e);
        } else {
            if (md->topic_cnt == 1 && md->topics[0].err == 0 && md->topics[0].partition_cnt > 0)
                count = md->topics[0].partition_cnt;
            else if (md->topic_cnt == 1)
                problem = rd_kafka_err2str(md->topics[0].err);
            rd_kafka_metadata_destroy(md);
        }
        if (count < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    if (count < 0)
        throw std::runtime_error("topic " + o.topic + " on " + o.broker + ": " + problem +
                                 " (after 10 s)");
    return count;
}

rd_kafka_t* make_consumer(const options& o) {
    rd_kafka_conf_t* conf = base_conf(o);
    try {
        // librdkafka's assign() needs a group.id, but nothing here joins the group or
        // commits: a unique id keeps runs independent of one another.
        set_conf(conf, "group.id", "hako-perf-" + std::to_string(getpid()));
        set_conf(conf, "enable.auto.commit", "false");
        set_conf(conf, "enable.auto.offset.store", "false");
        set_conf(conf, "enable.partition.eof", "true");
        set_conf(conf, "auto.offset.reset", "earliest");
    } catch (...) {
        rd_kafka_conf_destroy(conf);
        throw;
    }
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("cannot create consumer: ") + err);
    }
    rd_kafka_poll_set_consumer(rk);
    // Learn the partition leaders before assign(): otherwise librdkafka parks the offset
    // query on a 500 ms retry timer, which would show up as broker start latency.
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rk;
}

void consume_loop(const options& o, rd_kafka_t* rk, int partitions_assigned, double deadline,
                  std::atomic<std::int64_t>& consumed, std::atomic<bool>& finished,
                  consumer_ctx& ctx) {
    rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk);
    std::vector<rd_kafka_message_t*> msgs(4096);
    while (!finished.load(std::memory_order_relaxed) && !interrupted.load()) {
        if (deadline > 0 && now_s() >= deadline) break;
        // Block for the first message only: consume_batch_queue() with a timeout waits for a
        // full batch, which would add up to that timeout to the end-to-end latency.
        ssize_t n = 0;
        if (rd_kafka_message_t* first = rd_kafka_consume_queue(q, 100)) {
            msgs[0] = first;
            auto more = rd_kafka_consume_batch_queue(q, 0, msgs.data() + 1, msgs.size() - 1);
            n = 1 + std::max<ssize_t>(more, 0);
        }
        if (n < 0) {
            ctx.counters->errors.fetch_add(1, std::memory_order_relaxed);
            if (ctx.first_error.empty()) ctx.first_error = rd_kafka_err2str(rd_kafka_last_error());
            break;
        }
        const std::int64_t now = wall_us();
        std::int64_t records = 0, bytes = 0;
        for (ssize_t i = 0; i < n; ++i) {
            rd_kafka_message_t* m = msgs[static_cast<std::size_t>(i)];
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                ++ctx.eof_partitions;
            } else if (m->err) {
                ctx.counters->errors.fetch_add(1, std::memory_order_relaxed);
                if (ctx.first_error.empty()) ctx.first_error = rd_kafka_message_errstr(m);
            } else {
                rd_kafka_timestamp_type_t type;
                std::int64_t ts_ms = rd_kafka_message_timestamp(m, &type);
                if (ts_ms >= 0) {
                    std::int64_t lat = now - ts_ms * 1000;
                    ctx.latency_us.record(lat > 0 ? static_cast<std::uint64_t>(lat) : 0);
                }
                ++records;
                bytes += static_cast<std::int64_t>(m->len);
            }
            rd_kafka_message_destroy(m);
        }
        if (records) {
            if (ctx.first_record_s == 0) ctx.first_record_s = now_s();
            ctx.counters->records.fetch_add(records, std::memory_order_relaxed);
            ctx.counters->bytes.fetch_add(bytes, std::memory_order_relaxed);
            auto total = consumed.fetch_add(records) + records;
            if (o.records > 0 && total >= o.records) finished = true;
        }
        if (o.until_eof && ctx.eof_partitions >= partitions_assigned) break;
    }
    rd_kafka_queue_destroy(q);
}

}  // namespace

result run_consume(const options& o) {
    const int partitions = partition_count(o);
    const int n = std::min(o.threads, partitions);
    std::vector<worker_counters> counters(static_cast<std::size_t>(n));
    std::vector<consumer_ctx> ctxs(static_cast<std::size_t>(n));
    std::vector<rd_kafka_t*> handles;
    std::vector<int> assigned(static_cast<std::size_t>(n), 0);
    for (int i = 0; i < n; ++i) {
        ctxs[static_cast<std::size_t>(i)].counters = &counters[static_cast<std::size_t>(i)];
        handles.push_back(make_consumer(o));
    }
    const double start = now_s();
    for (int i = 0; i < n; ++i) {
        rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
        for (int p = i; p < partitions; p += n) {
            rd_kafka_topic_partition_list_add(list, o.topic.c_str(), p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
            ++assigned[static_cast<std::size_t>(i)];
        }
        auto e = rd_kafka_assign(handles[static_cast<std::size_t>(i)], list);
        rd_kafka_topic_partition_list_destroy(list);
        if (e) throw std::runtime_error(std::string("assign: ") + rd_kafka_err2str(e));
    }
    const double deadline = o.duration_s > 0 ? start + o.duration_s : 0;
    std::atomic<std::int64_t> consumed{0};
    std::atomic<bool> finished{false}, done{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
        threads.emplace_back(consume_loop, std::cref(o), handles[static_cast<std::size_t>(i)],
                             assigned[static_cast<std::size_t>(i)], deadline, std::ref(consumed),
                             std::ref(finished), std::ref(ctxs[static_cast<std::size_t>(i)]));
    progress_line progress(o, "consume", counters);
    std::thread progress_thread([&] { progress.run_until(done); });
    for (auto& t : threads) t.join();
    const double end = now_s();
    done = true;
    progress_thread.join();
    for (auto* rk : handles) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }

    result r;
    r.mode = "consume";
    r.partitions = partitions;
    // Throughput counts from the first record received: connecting, Metadata and ListOffsets
    // are reported apart (start_ms), as Kafka's own consumer perf tool does.
    double first = 0;
    for (const auto& c : ctxs)
        if (c.first_record_s > 0 && (first == 0 || c.first_record_s < first)) first = c.first_record_s;
    r.seconds = end - (first > 0 ? first : start);
    r.start_ms = first > 0 ? (first - start) * 1000 : 0;
    for (int i = 0; i < n; ++i) {
        const auto& c = counters[static_cast<std::size_t>(i)];
        r.records += c.records.load();
        r.bytes += c.bytes.load();
        r.errors += c.errors.load();
        r.latency_us.merge(ctxs[static_cast<std::size_t>(i)].latency_us);
        if (r.first_error.empty()) r.first_error = ctxs[static_cast<std::size_t>(i)].first_error;
    }
    return r;
}

}  // namespace hako::cli::perf
