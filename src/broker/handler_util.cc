#include "broker/handler_util.h"

#include <algorithm>

namespace hako::broker {

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
