#include "broker/handler_util.h"

#include <fmt/core.h>

#include <algorithm>

namespace hako::broker {

protocol::error_code storage_failure(const std::exception& e) {
    // One broker thread: a plain static is enough to rate-limit the log.
    static std::chrono::steady_clock::time_point last_logged{};
    static std::uint64_t suppressed = 0;
    auto now = std::chrono::steady_clock::now();
    if (now - last_logged >= std::chrono::seconds(1)) {
        fmt::print(stderr, "hako: storage unavailable, answering KAFKA_STORAGE_ERROR: {}{}\n",
                   e.what(),
                   suppressed ? fmt::format(" ({} more since the last report)", suppressed)
                              : std::string());
        last_logged = now;
        suppressed = 0;
    } else {
        ++suppressed;
    }
    return protocol::error_code::kafka_storage_error;
}

bool valid_topic_name(std::string_view name) {
    if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

std::string client_host(const connection_state& conn) {
    auto colon = conn.peer.rfind(':');
    return "/" + (colon == std::string::npos ? conn.peer : conn.peer.substr(0, colon));
}

std::int32_t leader_for(std::string_view topic, std::int32_t partition,
                        const std::vector<storage::broker_info>& brokers) {
    if (brokers.empty()) return -1;
    std::uint32_t h = 2166136261u;  // FNV-1a: stable across processes and builds
    for (char c : topic) h = (h ^ static_cast<std::uint8_t>(c)) * 16777619u;
    auto i = (h + static_cast<std::uint32_t>(partition)) % brokers.size();
    return brokers[i].node_id;
}

}  // namespace hako::broker
