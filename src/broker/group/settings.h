#pragma once
// Group coordinator settings, named after the Kafka broker configs they mirror.

#include <cstdint>

namespace hako::broker::group {

struct settings {
    std::int32_t min_session_timeout_ms = 6000;                  // group.min.session.timeout.ms
    std::int32_t max_session_timeout_ms = 1800000;               // group.max.session.timeout.ms
    std::int32_t initial_rebalance_delay_ms = 3000;              // group.initial.rebalance.delay.ms
    std::int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;  // offsets.retention.minutes
    std::int64_t offsets_retention_check_interval_ms =
        600000;                                     // offsets.retention.check.interval.ms
    std::int32_t offset_metadata_max_bytes = 4096;  // offset.metadata.max.bytes
    // How often every broker looks for members whose session ran out while nobody touched
    // their group (the sweep is safe to run on every broker at once: it only stores by CAS).
    std::int32_t sweep_interval_ms = 1000;
    // How often a parked JoinGroup/SyncGroup re-reads storage when the engine is shared
    // (changes made by other brokers cannot wake it). Single-process engines wake waiters
    // locally and use this only as a safety net, at 1 s.
    std::int32_t poll_interval_ms = 100;
};

}  // namespace hako::broker::group
