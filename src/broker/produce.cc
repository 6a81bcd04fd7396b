// Produce (key 0): validate each partition's batch, then append it through storage.
// The batch stays as bytes: only the base offset (and, for LogAppendTime topics, the
// timestamp and CRC) is patched. Records are decoded only when a topic config needs them.
#include "hako/protocol/messages/produce.h"

#include "broker/concurrently.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "broker/topic_config.h"
#include "protocol/record_batch.h"

namespace hako::broker {

namespace {

using protocol::error_code;

struct partition_outcome {
    error_code error = error_code::none;
    std::int64_t base_offset = -1;
    std::int64_t log_append_time = -1;
    std::int64_t log_start = -1;
    std::string message;
};

// CreateTime bounds from message.timestamp.{before,after,difference}.max.ms.
error_code check_timestamps(const storage::config_map& cfg, std::string_view batch,
                            const protocol::batch_header& h, std::int64_t now) {
    constexpr auto unset = INT64_MAX;
    auto diff = effective_config_int(cfg, "message.timestamp.difference.max.ms");
    auto before = std::min(effective_config_int(cfg, "message.timestamp.before.max.ms"), diff);
    auto after = std::min(effective_config_int(cfg, "message.timestamp.after.max.ms"), diff);
    if (before == unset && after == unset) return error_code::none;
    for (const auto& rec : protocol::decode_records(batch, 64u << 20)) {
        auto ts = h.base_timestamp + rec.timestamp_delta;
        if ((before != unset && ts < now - before) || (after != unset && ts > now + after))
            return error_code::invalid_timestamp;
    }
    return error_code::none;
}

awaitable<partition_outcome> produce_partition(request_context& ctx, const std::string& topic,
                                               const storage::topic_info& info,
                                               std::int32_t partition,
                                               std::optional<protocol::shared_bytes>& records) {
    partition_outcome out;
    if (partition < 0 || partition >= info.partitions) {
        out.error = error_code::unknown_topic_or_partition;
        co_return out;
    }
    if (!records || records->size() < protocol::batch_header_size) {
        out.error = error_code::corrupt_message;
        co_return out;
    }
    std::string_view bytes(*records);
    if (bytes.size() > 16 && bytes[16] != 2) {
        out.error = error_code::unsupported_for_message_format;
        co_return out;
    }
    auto max_bytes = effective_config_int(info.configs, "max.message.bytes");
    if (static_cast<std::int64_t>(bytes.size()) > max_bytes) {
        out.error = error_code::message_too_large;
        co_return out;
    }
    protocol::batch_header h;
    try {
        h = protocol::read_batch_header(bytes);
        if (h.total_size() != bytes.size()) {
            // Produce v3+ carries exactly one batch per partition.
            out.error = error_code::invalid_record;
            co_return out;
        }
        out.error = protocol::validate_produced_batch(bytes);
        if (out.error != error_code::none) co_return out;
        if (h.codec() == protocol::compression::zstd && ctx.version() < 7) {
            out.error = error_code::unsupported_compression_type;
            co_return out;
        }
        auto now = now_ms();
        bool log_append =
            effective_config(info.configs, "message.timestamp.type") == "LogAppendTime";
        if (!log_append) {
            out.error = check_timestamps(info.configs, bytes, h, now);
            if (out.error != error_code::none) co_return out;
        }
        storage::append_request req;
        req.topic = topic;
        req.partition = partition;
        req.batch = std::move(*records);  // the request is ours: no copy of the batch
        // the leader epoch is the broker's to set (it is outside the CRC); ours is constant
        protocol::set_partition_leader_epoch(req.batch, 0);
        if (log_append) {
            protocol::set_log_append_time(req.batch, now);
            out.log_append_time = now;
        }
        req.record_count = h.records_count;
        req.max_timestamp = log_append ? now : h.max_timestamp;
        req.producer_id = h.producer_id;
        req.producer_epoch = h.producer_epoch;
        req.base_sequence = h.base_sequence;
        req.transactional = h.is_transactional();
        auto res = co_await ctx.b.store().append(std::move(req));
        out.error = res.error;
        out.base_offset = res.base_offset;
        out.log_start = res.log_start;
    } catch (const protocol::batch_error& e) {
        out.error = e.code;
        out.message = e.what();
    } catch (const std::exception& e) {
        out.error = storage_failure(e);
        out.message = "storage unavailable";
    }
    co_return out;
}

}  // namespace

awaitable<std::optional<std::string>> handle_produce(request_context& ctx, protocol::reader& r) {
    protocol::produce::request req;
    req.decode(r, ctx.version());
    protocol::produce::response resp;

    // v0-2 carry legacy message sets; advertised only for librdkafka's feature checks.
    const bool legacy = ctx.version() < 3;
    const bool bad_acks = req.acks != 0 && req.acks != 1 && req.acks != -1;

    // Topics are looked up first; then every partition's append starts at once (see
    // concurrently.h) and the answers are filled in the request's order.
    std::vector<std::optional<storage::topic_info>> infos(req.topic_data.size());
    std::vector<awaitable<partition_outcome>> appends;
    std::vector<std::pair<std::size_t, std::size_t>> waiting;  // (topic, partition) answers
    for (std::size_t t = 0; t < req.topic_data.size(); ++t) {
        auto& td = req.topic_data[t];
        auto& tr = resp.responses.emplace_back();
        tr.name = td.name;
        std::optional<error_code> lookup_failed;
        if (!legacy && !bad_acks) {
            try {
                infos[t] = co_await ctx.b.store().describe_topic_recent(td.name);
            } catch (const std::exception& e) {
                lookup_failed = storage_failure(e);
            }
        }
        for (auto& pd : td.partition_data) {
            auto& pr = tr.partition_responses.emplace_back();
            pr.index = pd.index;
            pr.base_offset = -1;
            pr.log_append_time_ms = -1;
            pr.log_start_offset = -1;
            if (legacy) {
                pr.error_code = code(error_code::unsupported_version);
                continue;
            }
            if (bad_acks) {
                pr.error_code = code(error_code::invalid_required_acks);
                continue;
            }
            if (lookup_failed) {
                pr.error_code = code(*lookup_failed);
                continue;
            }
            if (!infos[t]) {
                pr.error_code = code(error_code::unknown_topic_or_partition);
                continue;
            }
            appends.push_back(produce_partition(ctx, td.name, *infos[t], pd.index, pd.records));
            waiting.emplace_back(t, tr.partition_responses.size() - 1);
        }
    }
    // Once every append is queued in storage (each runs to its first suspension inside
    // engine::append, which queues it: storage.h), the connection may start its next
    // request: appends to one partition keep the order of the requests.
    auto run = concurrently(std::move(appends), [&ctx] { ctx.mark_ordered(); });
    auto outcomes = co_await std::move(run);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        auto& pr = resp.responses[waiting[i].first].partition_responses[waiting[i].second];
        const auto& o = outcomes[i];
        pr.error_code = code(o.error);
        pr.base_offset = o.base_offset;
        pr.log_append_time_ms = o.log_append_time;
        pr.log_start_offset = o.log_start;
        if (!o.message.empty() && ctx.version() >= 8) pr.error_message = o.message;
    }
    if (req.acks == 0 && !bad_acks) co_return std::nullopt;
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
