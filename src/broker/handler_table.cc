// The APIs this broker serves end to end, with the version ranges it advertises
// (kafka-client-versions.md §3). Nothing goes in here that does not work end to end:
// clients choose versions blindly from ApiVersions.
#include <array>

#include "broker/broker.h"
#include "broker/handlers.h"

namespace hako::broker {
namespace {

constexpr std::array<handler_entry, 14> table{{
    // Produce v0-2 are advertised only because librdkafka < 2.11 disables compression
    // unless the range contains 0; they are answered with UNSUPPORTED_VERSION.
    {0, 0, 11, handle_produce},
    {1, 4, 12, handle_fetch},
    {2, 1, 7, handle_list_offsets},
    {3, 0, 12, handle_metadata},
    {18, 0, 4, handle_api_versions},
    {19, 2, 7, handle_create_topics},
    {20, 1, 6, handle_delete_topics},
    {21, 0, 2, handle_delete_records},
    {22, 0, 5, handle_init_producer_id},
    {32, 1, 4, handle_describe_configs},
    {33, 0, 2, handle_alter_configs},
    {37, 0, 3, handle_create_partitions},
    {44, 0, 1, handle_incremental_alter_configs},
    {60, 0, 1, handle_describe_cluster},
}};

}  // namespace

std::span<const handler_entry> handlers() { return table; }

const handler_entry* find_handler(std::int16_t api_key) {
    for (const auto& h : table)
        if (h.api_key == api_key) return &h;
    return nullptr;
}

}  // namespace hako::broker
