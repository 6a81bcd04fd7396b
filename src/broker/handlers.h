#pragma once
// One function per Kafka API, each defined in its own <api>.cc file.

#include "broker/broker.h"

namespace hako::broker {

#define HAKO_HANDLER(name) \
    awaitable<std::optional<std::string>> handle_##name(request_context&, protocol::reader&)

HAKO_HANDLER(produce);
HAKO_HANDLER(fetch);
HAKO_HANDLER(list_offsets);
HAKO_HANDLER(metadata);
HAKO_HANDLER(api_versions);
HAKO_HANDLER(create_topics);
HAKO_HANDLER(delete_topics);
HAKO_HANDLER(delete_records);
HAKO_HANDLER(describe_configs);
HAKO_HANDLER(alter_configs);
HAKO_HANDLER(create_partitions);
HAKO_HANDLER(incremental_alter_configs);
HAKO_HANDLER(describe_cluster);
HAKO_HANDLER(find_coordinator);
HAKO_HANDLER(join_group);
HAKO_HANDLER(sync_group);
HAKO_HANDLER(heartbeat);
HAKO_HANDLER(leave_group);
HAKO_HANDLER(offset_commit);
HAKO_HANDLER(offset_fetch);
HAKO_HANDLER(describe_groups);
HAKO_HANDLER(list_groups);
HAKO_HANDLER(delete_groups);
HAKO_HANDLER(offset_delete);
HAKO_HANDLER(init_producer_id);

#undef HAKO_HANDLER

}  // namespace hako::broker
