// The APIs this broker serves end to end, with the version ranges it advertises
// (kafka-client-versions.md §3). Nothing goes in here that does not work end to end:
// clients choose versions blindly from ApiVersions.
#include <array>

#include "broker/broker.h"
#include "broker/handlers.h"

namespace hako::broker {
namespace {

constexpr handler_entry table[] = {
    // Produce v0-2 are advertised only because librdkafka < 2.11 disables compression
    // unless the range contains 0; they are answered with UNSUPPORTED_VERSION.
    {0, 0, 11, handle_produce},
    {1, 4, 17, handle_fetch},
    {2, 1, 7, handle_list_offsets},
    {3, 0, 12, handle_metadata},
    {8, 2, 9, handle_offset_commit},
    {9, 1, 9, handle_offset_fetch},
    {10, 0, 4, handle_find_coordinator},
    {11, 0, 9, handle_join_group},
    {12, 0, 4, handle_heartbeat},
    {13, 0, 5, handle_leave_group},
    {14, 0, 5, handle_sync_group},
    {15, 0, 5, handle_describe_groups},
    {16, 0, 5, handle_list_groups},
    {18, 0, 4, handle_api_versions},
    {19, 2, 7, handle_create_topics},
    {20, 1, 6, handle_delete_topics},
    {21, 0, 2, handle_delete_records},
    {22, 0, 5, handle_init_producer_id},
    {32, 1, 4, handle_describe_configs},
    {33, 0, 2, handle_alter_configs},
    {37, 0, 3, handle_create_partitions},
    {42, 0, 2, handle_delete_groups},
    {44, 0, 1, handle_incremental_alter_configs},
    {47, 0, 0, handle_offset_delete},
    {60, 0, 1, handle_describe_cluster},
};

}  // namespace

std::span<const handler_entry> handlers() { return table; }

const handler_entry* find_handler(std::int16_t api_key) {
    for (const auto& h : table)
        if (h.api_key == api_key) return &h;
    return nullptr;
}

}  // namespace hako::broker
