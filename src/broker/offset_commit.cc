// OffsetCommit (key 8): stores committed offsets with their metadata string and leader
// epoch, unchanged. As in Kafka, unknown topics/partitions are refused per partition, the
// group coordinator decides whether this member may commit (generation, member id,
// static instance; generation -1 with no member id: simple/admin commits, accepted while
// the group has no members), and metadata over offset.metadata.max.bytes is refused.
// v2-4's retention_time_ms is ignored: retention is the broker's offsets.retention.
#include "hako/protocol/messages/offset_commit.h"

#include <map>

#include "broker/group/coordinator.h"
#include "broker/handler_util.h"
#include "broker/handlers.h"

namespace hako::broker {

namespace {
using protocol::error_code;
}  // namespace

awaitable<std::optional<std::string>> handle_offset_commit(request_context& ctx,
                                                           protocol::reader& r) {
    protocol::offset_commit::request req;
    req.decode(r, ctx.version());
    const auto v = ctx.version();
    auto& store = ctx.b.store();

    // Answer every partition; start from "unknown topic" and clear what exists.
    protocol::offset_commit::response resp;
    std::map<std::string, std::optional<storage::topic_info>> topics;
    for (const auto& t : req.topics) {
        if (!topics.count(t.name)) topics[t.name] = co_await store.describe_topic(t.name);
        const auto& info = topics[t.name];
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition_index;
            bool known = info && p.partition_index >= 0 && p.partition_index < info->partitions;
            rp.error_code = code(known ? error_code::none : error_code::unknown_topic_or_partition);
        }
    }

    error_code group_error = error_code::none;
    if (req.group_id.empty()) {
        group_error = error_code::invalid_group_id;
    } else {
        auto instance = v >= 7 ? req.group_instance_id : std::nullopt;
        auto generation = v >= 1 ? req.generation_id_or_member_epoch : -1;
        group_error = co_await ctx.b.groups().authorize_commit(req.group_id, req.member_id,
                                                               instance, generation, v);
    }

    const auto max_metadata =
        static_cast<std::size_t>(ctx.b.groups().config().offset_metadata_max_bytes);
    const auto now = now_ms();
    std::vector<storage::committed_offset> commits;
    for (std::size_t i = 0; i < req.topics.size(); ++i) {
        auto& t = req.topics[i];
        for (std::size_t j = 0; j < t.partitions.size(); ++j) {
            auto& p = t.partitions[j];
            auto& rp = resp.topics[i].partitions[j];
            if (rp.error_code != 0) continue;
            if (group_error != error_code::none) {
                rp.error_code = code(group_error);
                continue;
            }
            // Kafka stores a null metadata string as "".
            std::string metadata = p.committed_metadata.value_or("");
            if (metadata.size() > max_metadata) {
                rp.error_code = code(error_code::offset_metadata_too_large);
                continue;
            }
            auto& c = commits.emplace_back();
            c.topic = t.name;
            c.partition = p.partition_index;
            c.offset = p.committed_offset;
            c.leader_epoch = v >= 6 ? p.committed_leader_epoch : -1;
            c.metadata = std::move(metadata);
            c.commit_timestamp = now;
        }
    }
    if (!commits.empty()) co_await store.commit_offsets(req.group_id, std::move(commits));
    co_return encode_body(resp, v);
}

}  // namespace hako::broker
