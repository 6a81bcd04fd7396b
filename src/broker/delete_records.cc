// DeleteRecords (key 21): moves each partition's log start offset forward to the offset
// given (-1: the high watermark). An offset beyond the high watermark (or another negative
// one) answers OFFSET_OUT_OF_RANGE; an offset at or below the current log start changes
// nothing. The answer carries the partition's low watermark (log start), -1 on errors,
// as in Kafka (ReplicaManager.deleteRecords).

#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "hako/protocol/messages/delete_records.h"

namespace hako::broker {

namespace {
using protocol::error_code;
constexpr std::int64_t high_watermark = -1;
}  // namespace

awaitable<std::optional<std::string>> handle_delete_records(request_context& ctx,
                                                            protocol::reader& r) {
    protocol::delete_records::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();

    protocol::delete_records::response resp;
    for (const auto& t : req.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition_index;
            rp.low_watermark = -1;
            if (p.offset < 0 && p.offset != high_watermark) {
                // Kafka checks the partition exists before looking at the offset.
                auto o = co_await store.offsets(t.name, p.partition_index);
                rp.error_code = code(o.error != error_code::none ? o.error
                                                                 : error_code::offset_out_of_range);
                continue;
            }
            auto o = co_await store.delete_records(t.name, p.partition_index, p.offset);
            rp.error_code = code(o.error);
            if (o.error == error_code::none) rp.low_watermark = o.log_start;
        }
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
