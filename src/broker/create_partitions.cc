// CreatePartitions (key 37): grows a topic to `count` partitions. Checks and messages follow
// Kafka's ReplicationControlManager.createPartitions. Every partition has one replica (the
// storage), so a manual assignment must name exactly one registered broker per new
// partition. validate_only runs every check and changes nothing.
#include <algorithm>
#include <map>

#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "hako/protocol/messages/create_partitions.h"

namespace hako::broker {

namespace {

using protocol::error_code;

// Same bound as CreateTopics; protects the engines from absurd counts.
constexpr std::int32_t max_partitions = 100000;

struct failure {
    error_code error;
    std::string message;
};

template <class Topic>
std::optional<failure> check_assignments(const Topic& t, std::int32_t additional,
                                         const std::vector<storage::broker_info>& brokers) {
    if (!t.assignments) return std::nullopt;
    if (static_cast<std::int64_t>(t.assignments->size()) != additional)
        return failure{error_code::invalid_replica_assignment,
                       "Attempted to add " + std::to_string(additional) +
                           " additional partition(s), but only " +
                           std::to_string(t.assignments->size()) +
                           " assignment(s) were specified."};
    constexpr std::size_t replication_factor = 1;
    for (const auto& a : *t.assignments) {
        if (a.broker_ids.empty())
            return failure{error_code::invalid_replica_assignment,
                           "The manual partition assignment includes an empty replica list."};
        auto ids = a.broker_ids;
        std::sort(ids.begin(), ids.end());
        for (std::size_t i = 0; i < ids.size(); ++i) {
            bool known = std::any_of(brokers.begin(), brokers.end(),
                                     [&](const auto& b) { return b.node_id == ids[i]; });
            if (!known)
                return failure{error_code::invalid_replica_assignment,
                               "The manual partition assignment includes broker " +
                                   std::to_string(ids[i]) + ", but no such broker is registered."};
            if (i > 0 && ids[i] == ids[i - 1])
                return failure{error_code::invalid_replica_assignment,
                               "The manual partition assignment includes the broker " +
                                   std::to_string(ids[i]) + " more than once."};
        }
        if (ids.size() != replication_factor)
            return failure{error_code::invalid_replica_assignment,
                           "The manual partition assignment includes a partition with " +
                               std::to_string(ids.size()) +
                               " replica(s), but this is inconsistent with previous partitions, "
                               "which have 1 replica(s)."};
    }
    return std::nullopt;
}

}  // namespace

awaitable<std::optional<std::string>> handle_create_partitions(request_context& ctx,
                                                               protocol::reader& r) {
    protocol::create_partitions::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();

    std::map<std::string, int> occurrences;
    bool manual = false;
    for (const auto& t : req.topics) {
        ++occurrences[t.name];
        manual |= t.assignments.has_value();
    }
    std::vector<storage::broker_info> brokers;
    if (manual) brokers = co_await store.live_brokers();

    protocol::create_partitions::response resp;
    for (const auto& t : req.topics) {
        auto& rt = resp.results.emplace_back();
        rt.name = t.name;
        rt.error_message = std::nullopt;
        auto result = [&]() -> awaitable<std::optional<failure>> {
            if (occurrences[t.name] > 1)
                co_return failure{error_code::invalid_request, "Duplicate topic name."};
            auto info = co_await store.describe_topic(t.name);
            if (!info)
                co_return failure{error_code::unknown_topic_or_partition,
                                  "This server does not host this topic-partition."};
            if (t.count == info->partitions)
                co_return failure{error_code::invalid_partitions,
                                  "Topic already has " + std::to_string(info->partitions) +
                                      " partition(s)."};
            if (t.count < info->partitions)
                co_return failure{error_code::invalid_partitions,
                                  "The topic " + t.name + " currently has " +
                                      std::to_string(info->partitions) + " partition(s); " +
                                      std::to_string(t.count) + " would not be an increase."};
            if (t.count > max_partitions)
                co_return failure{error_code::invalid_partitions,
                                  "Number of partitions " + std::to_string(t.count) +
                                      " exceeds this broker's limit of " +
                                      std::to_string(max_partitions) + " per topic."};
            if (auto err = check_assignments(t, t.count - info->partitions, brokers))
                co_return err;
            if (req.validate_only) co_return std::nullopt;
            auto ec = co_await store.create_partitions(t.name, t.count);
            if (ec == error_code::unknown_topic_or_partition)
                co_return failure{ec, "This server does not host this topic-partition."};
            if (ec == error_code::invalid_partitions)  // another broker grew it meanwhile
                co_return failure{ec, "The topic " + t.name + " already has " +
                                          std::to_string(t.count) + " or more partition(s)."};
            if (ec != error_code::none)
                co_return failure{ec, std::string(protocol::error_name(ec))};
            co_return std::nullopt;
        };
        if (auto err = co_await result()) {
            rt.error_code = code(err->error);
            rt.error_message = err->message;
        }
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
