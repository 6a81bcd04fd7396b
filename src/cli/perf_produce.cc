// `hako perf produce`: N producer threads, each with its own rd_kafka_t and a poller thread
// that serves delivery reports as soon as they arrive (so the ack latency is not inflated by
// the producing loop's pacing). Latency runs from the produce() call to the delivery report
// (librdkafka's own stamp, rd_kafka_message_latency).
#include <algorithm>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cli/perf.h"

namespace hako::cli::perf {

namespace {

struct producer_ctx {
    worker_counters* counters = nullptr;
    histogram latency_us;
    std::mutex error_mu;
    std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* ctx = static_cast<producer_ctx*>(opaque);
    if (m->err) {
        ctx->counters->errors.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(ctx->error_mu);
        if (ctx->first_error.empty()) ctx->first_error = rd_kafka_err2str(m->err);
        return;
    }
    // librdkafka stamps every message when produce() takes it: its latency is ours too.
    const auto latency = rd_kafka_message_latency(m);
    if (latency >= 0) ctx->latency_us.record(static_cast<std::uint64_t>(latency));
    ctx->counters->records.fetch_add(1, std::memory_order_relaxed);
    ctx->counters->bytes.fetch_add(static_cast<std::int64_t>(m->len), std::memory_order_relaxed);
}

rd_kafka_t* make_producer(const options& o, producer_ctx* ctx) {
    rd_kafka_conf_t* conf = base_conf(o);
    try {
        set_conf(conf, "acks", o.acks);
        set_conf(conf, "compression.codec", o.compression);
        if (o.linger_ms >= 0) set_conf(conf, "linger.ms", fmt_double(o.linger_ms));
        if (o.batch_size > 0) set_conf(conf, "batch.size", std::to_string(o.batch_size));
    } catch (...) {
        rd_kafka_conf_destroy(conf);
        throw;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, ctx);
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("cannot create producer: ") + err);
    }
    return rk;
}

// A clear message instead of a minute of retries when nothing answers at --broker.
void check_reachable(rd_kafka_t* rk, const options& o) {
    const rd_kafka_metadata_t* md = nullptr;
    auto e = rd_kafka_metadata(rk, 0, nullptr, &md, 10000);
    if (e)
        throw std::runtime_error("no answer from " + o.broker + " within 10 s (" +
                                 rd_kafka_err2str(e) + "); is a broker listening there?");
    rd_kafka_metadata_destroy(md);
}

// CreateTopics through the admin API; an existing topic is fine.
void create_topic(const options& o) {
    producer_ctx unused;
    worker_counters c;
    unused.counters = &c;
    rd_kafka_t* rk = make_producer(o, &unused);
    try {
        check_reachable(rk, o);
    } catch (...) {
        rd_kafka_destroy(rk);
        throw;
    }
    char err[512];
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(o.topic.c_str(), o.partitions, -1, err, sizeof err);
    if (!nt) {
        rd_kafka_destroy(rk);
        throw std::invalid_argument(std::string("topic ") + o.topic + ": " + err);
    }
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    std::string problem;
    if (!ev) {
        problem = "no answer to CreateTopics in 30 s";
    } else if (rd_kafka_event_error(ev)) {
        problem = rd_kafka_event_error_string(ev);
    } else if (const auto* res = rd_kafka_event_CreateTopics_result(ev)) {
        std::size_t n = 0;
        const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(res, &n);
        for (std::size_t i = 0; i < n; ++i) {
            auto e = rd_kafka_topic_result_error(topics[i]);
            if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                const char* msg = rd_kafka_topic_result_error_string(topics[i]);
                problem = std::string(rd_kafka_err2name(e)) + (msg ? std::string(": ") + msg : "");
            }
        }
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    if (!problem.empty())
        throw std::runtime_error("cannot create topic " + o.topic + ": " + problem);
}

// Letters, like Kafka's own perf tool: compressible about as much as text, never constant.
std::string make_payload_pool(std::size_t record_size) {
    std::string pool(record_size + 4096, 'A');
    std::mt19937 rng(12345);
    for (auto& ch : pool) ch = static_cast<char>('A' + rng() % 26);
    return pool;
}

void note_error(producer_ctx& ctx, rd_kafka_resp_err_t e) {
    ctx.counters->errors.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(ctx.error_mu);
    if (ctx.first_error.empty()) ctx.first_error = rd_kafka_err2str(e);
}

// Unpaced: records go to librdkafka a group at a time (rd_kafka_produce_batch, as
// librdkafka's own rdkafka_performance does with -B), which reads the clocks and takes
// the topic lock once per group instead of once per record: ~14% less client CPU per
// byte at 100-byte records, CPU the broker and storage server on the same machine need.
// Each record is still partitioned, stamped and reported on its own.
void produce_grouped(const options& o, rd_kafka_topic_t* rkt, const std::string& pool,
                     std::int64_t quota, double deadline, producer_ctx& ctx) {
    constexpr std::int64_t group = 256;
    std::vector<rd_kafka_message_t> msgs(static_cast<std::size_t>(group));
    std::int64_t sent = 0;
    while (!interrupted.load(std::memory_order_relaxed)) {
        if (quota > 0 && sent >= quota) break;
        if (deadline > 0 && now_s() >= deadline) break;
        const auto n = quota > 0 ? std::min(group, quota - sent) : group;
        for (std::int64_t i = 0; i < n; ++i) {
            auto& m = msgs[static_cast<std::size_t>(i)];
            m = {};
            m.payload = const_cast<char*>(pool.data()) + static_cast<std::size_t>((sent + i) * 7919 % 4096);
            m.len = o.record_size;
        }
        const int ok = rd_kafka_produce_batch(rkt, RD_KAFKA_PARTITION_UA, 0, msgs.data(),
                                              static_cast<int>(n));
        sent += ok;
        if (ok == n) continue;
        for (std::int64_t i = 0; i < n; ++i) {
            auto e = msgs[static_cast<std::size_t>(i)].err;
            if (e && e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                note_error(ctx, e);
                return;
            }
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // the queue is full
    }
}

// Paced (--rate): one record at a time, each at its due time, so that its latency is not
// inflated by waiting for a group to fill.
void produce_paced(const options& o, rd_kafka_topic_t* rkt, const std::string& pool,
                   std::int64_t quota, double rate, double deadline, producer_ctx& ctx) {
    const auto start_tp = std::chrono::steady_clock::now();
    std::int64_t sent = 0;
    while (!interrupted.load(std::memory_order_relaxed)) {
        if (quota > 0 && sent >= quota) break;
        auto due = start_tp + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(sent / rate));
        if (due > std::chrono::steady_clock::now()) std::this_thread::sleep_until(due);
        if (deadline > 0 && now_s() >= deadline) break;
        const char* payload = pool.data() + static_cast<std::size_t>(sent * 7919 % 4096);
        // flags 0: librdkafka neither copies nor frees the payload; the pool outlives it
        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, 0, const_cast<char*>(payload),
                             o.record_size, nullptr, 0, nullptr) == -1) {
            auto e = rd_kafka_last_error();
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                std::this_thread::sleep_for(std::chrono::microseconds(200));
                continue;
            }
            note_error(ctx, e);
            break;
        }
        ++sent;
    }
}

void produce_loop(const options& o, rd_kafka_t* rk, const std::string& pool, std::int64_t quota,
                  double thread_rate, double deadline, producer_ctx& ctx) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
    if (thread_rate > 0)
        produce_paced(o, rkt, pool, quota, thread_rate, deadline, ctx);
    else
        produce_grouped(o, rkt, pool, quota, deadline, ctx);
    // wait for every outstanding delivery report (the poller thread serves them)
    const double flush_deadline = now_s() + 60;
    while (rd_kafka_outq_len(rk) > 0 && now_s() < flush_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (int left = rd_kafka_outq_len(rk); left > 0) {
        ctx.counters->errors.fetch_add(left, std::memory_order_relaxed);
        std::lock_guard lock(ctx.error_mu);
        if (ctx.first_error.empty())
            ctx.first_error = std::to_string(left) + " records not acknowledged within 60 s";
    }
    rd_kafka_topic_destroy(rkt);
}

}  // namespace

result run_produce(const options& o) {
    if (o.partitions > 0) create_topic(o);
    const std::string pool = make_payload_pool(o.record_size);
    const int n = o.threads;
    std::vector<worker_counters> counters(static_cast<std::size_t>(n));
    std::vector<std::unique_ptr<producer_ctx>> ctxs;
    std::vector<rd_kafka_t*> handles;
    for (int i = 0; i < n; ++i) {
        ctxs.push_back(std::make_unique<producer_ctx>());
        ctxs.back()->counters = &counters[static_cast<std::size_t>(i)];
        handles.push_back(make_producer(o, ctxs.back().get()));
    }
    if (o.partitions <= 0) {
        try {
            check_reachable(handles.front(), o);
        } catch (...) {
            for (auto* rk : handles) rd_kafka_destroy(rk);
            throw;
        }
    }

    std::atomic<bool> pollers_stop{false}, done{false};
    std::vector<std::thread> pollers, producers;
    for (auto* rk : handles)
        pollers.emplace_back([rk, &pollers_stop] {
            while (!pollers_stop.load()) rd_kafka_poll(rk, 50);
            rd_kafka_poll(rk, 0);
        });
    const double start = now_s();
    const double deadline = o.duration_s > 0 ? start + o.duration_s : 0;
    for (int i = 0; i < n; ++i) {
        std::int64_t quota = o.records > 0 ? o.records / n + (i < o.records % n ? 1 : 0) : 0;
        if (o.records > 0 && quota == 0) continue;
        producers.emplace_back(produce_loop, std::cref(o), handles[static_cast<std::size_t>(i)],
                               std::cref(pool), quota, o.rate / n, deadline,
                               std::ref(*ctxs[static_cast<std::size_t>(i)]));
    }
    progress_line progress(o, "produce", counters);
    std::thread progress_thread([&] { progress.run_until(done); });
    for (auto& t : producers) t.join();
    const double end = now_s();
    pollers_stop = true;
    for (auto& t : pollers) t.join();
    done = true;
    progress_thread.join();
    for (auto* rk : handles) rd_kafka_destroy(rk);

    result r;
    r.mode = "produce";
    r.seconds = end - start;
    for (int i = 0; i < n; ++i) {
        const auto& c = counters[static_cast<std::size_t>(i)];
        r.records += c.records.load();
        r.bytes += c.bytes.load();
        r.errors += c.errors.load();
        r.latency_us.merge(ctxs[static_cast<std::size_t>(i)]->latency_us);
        if (r.first_error.empty()) r.first_error = ctxs[static_cast<std::size_t>(i)]->first_error;
    }
    return r;
}

}  // namespace hako::cli::perf
