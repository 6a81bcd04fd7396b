#pragma once
// Small helpers every handler file uses.

#include <chrono>
#include <cstdint>
#include <exception>
#include <string>

#include "broker/broker.h"
#include "protocol/error_code.h"
#include "protocol/wire.h"

namespace hako::broker {

template <class Message>
std::string encode_body(const Message& m, std::int16_t version) {
    protocol::writer w;
    m.encode(w, version);
    return w.take();
}

inline std::int16_t code(protocol::error_code e) { return static_cast<std::int16_t>(e); }

inline std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Kafka's topic name rule: 1..249 chars of [a-zA-Z0-9._-], not "." or "..".
bool valid_topic_name(std::string_view name);

// The client host Kafka reports for a connection (DescribeGroups): "/" + peer address.
std::string client_host(const connection_state& conn);

// A storage call threw (server unreachable, connection lost, retries exhausted): the
// partition is answered with KAFKA_STORAGE_ERROR, which every client retries after a
// metadata refresh, instead of dropping the connection. Logged at most once a second.
protocol::error_code storage_failure(const std::exception& e);

// Leader of a partition: spread over the live brokers by a stable hash so clients spread
// their load; any broker still serves any partition.
std::int32_t leader_for(std::string_view topic, std::int32_t partition,
                        const std::vector<storage::broker_info>& brokers);

}  // namespace hako::broker
