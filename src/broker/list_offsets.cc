// ListOffsets (key 2): offsets by timestamp. -1 latest (last stable offset under
// read_committed), -2 earliest, -3 the record with the largest timestamp, otherwise the
// first offset whose record timestamp is >= the one asked for. As in Kafka
// (Partition.fetchOffsetForTimestamp), timestamp lookups only see offsets below the last
// fetchable one (high watermark, or last stable offset under read_committed); a lookup
// that finds nothing answers offset -1, timestamp -1 and no error.
#include "hako/protocol/messages/list_offsets.h"

#include <set>
#include <utility>

#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

namespace {

using protocol::error_code;

constexpr std::int64_t latest = -1;
constexpr std::int64_t earliest = -2;
constexpr std::int64_t max_timestamp = -3;
constexpr std::int64_t earliest_local = -4;  // KIP-405: without tiered storage, = earliest
constexpr std::int64_t latest_tiered = -5;   // KIP-1005: nothing tiered, so offset -1

template <class Partition>
void set_error(Partition& p, error_code e) {
    p.error_code = code(e);
    p.offset = -1;
    p.timestamp = -1;
    p.leader_epoch = -1;
}

}  // namespace

awaitable<std::optional<std::string>> handle_list_offsets(request_context& ctx,
                                                          protocol::reader& r) {
    protocol::list_offsets::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();
    const bool read_committed = ctx.version() >= 2 && req.isolation_level == 1;

    // Kafka answers every copy of a partition listed twice with INVALID_REQUEST.
    std::set<std::pair<std::string, std::int32_t>> seen, duplicates;
    for (const auto& t : req.topics)
        for (const auto& p : t.partitions)
            if (!seen.emplace(t.name, p.partition_index).second)
                duplicates.emplace(t.name, p.partition_index);

    protocol::list_offsets::response resp;
    for (const auto& t : req.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition_index;
            if (duplicates.count({t.name, p.partition_index})) {
                set_error(rp, error_code::invalid_request);
                continue;
            }
            try {
                auto o = co_await store.offsets(t.name, p.partition_index);
                if (o.error != error_code::none) {
                    set_error(rp, o.error);
                    continue;
                }
                rp.error_code = code(error_code::none);
                rp.timestamp = -1;
                rp.leader_epoch = 0;
                const std::int64_t last_fetchable =
                    read_committed ? o.last_stable : o.high_watermark;
                if (p.timestamp == latest) {
                    rp.offset = last_fetchable;
                } else if (p.timestamp == earliest || p.timestamp == earliest_local) {
                    rp.offset = o.log_start;
                } else if (p.timestamp == latest_tiered) {
                    rp.offset = -1;
                    rp.leader_epoch = -1;
                } else {
                    storage::timestamp_lookup m;
                    if (p.timestamp == max_timestamp)
                        m = co_await store.max_timestamp(t.name, p.partition_index);
                    else
                        m = co_await store.offset_for_timestamp(t.name, p.partition_index,
                                                                p.timestamp);
                    if (m.error != error_code::none) {
                        set_error(rp, m.error);
                        continue;
                    }
                    if (m.offset >= 0 && m.offset < last_fetchable) {
                        rp.offset = m.offset;
                        rp.timestamp = m.timestamp;
                    } else {
                        rp.offset = -1;
                        rp.timestamp = -1;
                        rp.leader_epoch = -1;
                    }
                }
            } catch (const std::exception& e) {
                set_error(rp, storage_failure(e));
                continue;
            }
            // v0 is below the advertised range; answered as Kafka did, for completeness.
            if (ctx.version() == 0 && rp.offset >= 0) rp.old_style_offsets = {rp.offset};
        }
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
