// CreateTopics (key 19). Checks follow Kafka's controller (ControllerApis and
// ReplicationControlManager.createTopics) in the same order and with the same messages:
// duplicate names, name validity and '.'/'_' collisions, existence, configs, then
// partitions / replication factor / manual assignment. Storage is the replica, so any
// replication factor >= 1 is accepted and reported as 1. validate_only runs every check
// and creates nothing.
#include <algorithm>
#include <map>
#include <set>

#include "broker/handler_util.h"
#include "broker/handlers.h"
#include "broker/topic_config.h"
#include "hako/protocol/messages/create_topics.h"

namespace hako::broker {

namespace {

using protocol::error_code;

// A single topic may not ask for more; protects the engines from a request that would
// allocate billions of partitions (Kafka itself has no such bound).
constexpr std::int32_t max_partitions = 100000;

struct failure {
    error_code error;
    std::string message;
};

// Kafka's Topic.validate messages.
std::optional<std::string> topic_name_error(std::string_view name) {
    if (name.empty()) return "Topic name is illegal, it can't be empty";
    if (name == "." || name == "..") return "Topic name cannot be \".\" or \"..\"";
    if (name.size() > 249)
        return "Topic name is illegal, it can't be longer than 249 characters, Topic name: " +
               std::string(name);
    if (!valid_topic_name(name))
        return "Topic name \"" + std::string(name) +
               "\" is illegal, it contains a character other than ASCII alphanumerics, '.', "
               "'_' and '-'";
    return std::nullopt;
}

// '.' and '_' collide in metric names, so Kafka refuses "a.b" when "a_b" exists.
std::string unify_collision_chars(std::string_view name) {
    std::string s(name);
    std::replace(s.begin(), s.end(), '.', '_');
    return s;
}

template <class Topic>
std::optional<failure> check_configs(const Topic& t, storage::config_map& out) {
    std::string nulls;
    for (const auto& c : t.configs)
        if (!c.value) nulls += (nulls.empty() ? "" : ",") + c.name;
    if (!nulls.empty())
        return failure{error_code::invalid_config,
                       "Null value not supported for topic configs: " + nulls};
    for (const auto& c : t.configs) {
        auto name = canonical_config_name(c.name);
        if (!name) return failure{error_code::invalid_config, "Unknown topic config name: " + c.name};
        if (auto err = validate_topic_config(*name, *c.value))
            return failure{error_code::invalid_config, *err};
        out[*name] = *c.value;  // a name given twice: the last one wins, as in Kafka
    }
    return std::nullopt;
}

// Partition count after Kafka's checks on num_partitions, replication_factor and the
// manual assignment (ReplicationControlManager.createTopic).
template <class Topic>
std::optional<failure> check_layout(const Topic& t, std::int32_t default_partitions,
                                    const std::vector<storage::broker_info>& brokers,
                                    std::int32_t& partitions) {
    if (!t.assignments.empty()) {
        if (t.replication_factor != -1)
            return failure{error_code::invalid_request,
                           "A manual partition assignment was specified, but replication "
                           "factor was not set to -1."};
        if (t.num_partitions != -1)
            return failure{error_code::invalid_request,
                           "A manual partition assignment was specified, but numPartitions "
                           "was not set to -1."};
        std::set<std::int32_t> indexes;
        std::optional<std::size_t> replicas;
        for (const auto& a : t.assignments) {
            if (!indexes.insert(a.partition_index).second)
                return failure{error_code::invalid_replica_assignment,
                               "Found multiple manual partition assignments for partition " +
                                   std::to_string(a.partition_index)};
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
                                       std::to_string(ids[i]) +
                                       ", but no such broker is registered."};
                if (i > 0 && ids[i] == ids[i - 1])
                    return failure{error_code::invalid_replica_assignment,
                                   "The manual partition assignment includes the broker " +
                                       std::to_string(ids[i]) + " more than once."};
            }
            if (replicas && *replicas != ids.size())
                return failure{error_code::invalid_replica_assignment,
                               "The manual partition assignment includes a partition with " +
                                   std::to_string(ids.size()) +
                                   " replica(s), but this is inconsistent with previous "
                                   "partitions, which have " +
                                   std::to_string(*replicas) + " replica(s)."};
            replicas = ids.size();
        }
        // indexes must be exactly 0..n-1
        if (*indexes.begin() != 0 ||
            *indexes.rbegin() != static_cast<std::int32_t>(indexes.size()) - 1)
            return failure{error_code::invalid_replica_assignment,
                           "partitions should be a consecutive 0-based integer sequence"};
        partitions = static_cast<std::int32_t>(indexes.size());
    } else if (t.replication_factor < -1 || t.replication_factor == 0) {
        return failure{error_code::invalid_replication_factor,
                       "Replication factor must be larger than 0, or -1 to use the default "
                       "value."};
    } else if (t.num_partitions < -1 || t.num_partitions == 0) {
        return failure{error_code::invalid_partitions,
                       "Number of partitions was set to an invalid non-positive value."};
    } else {
        partitions = t.num_partitions == -1 ? default_partitions : t.num_partitions;
    }
    if (partitions > max_partitions)
        return failure{error_code::invalid_partitions,
                       "Number of partitions " + std::to_string(partitions) +
                           " exceeds this broker's limit of " + std::to_string(max_partitions) +
                           " per topic."};
    return std::nullopt;
}

}  // namespace

awaitable<std::optional<std::string>> handle_create_topics(request_context& ctx,
                                                           protocol::reader& r) {
    protocol::create_topics::request req;
    req.decode(r, ctx.version());
    auto& store = ctx.b.store();

    std::map<std::string, int> occurrences;
    bool may_collide = false;
    bool manual = false;
    for (const auto& t : req.topics) {
        ++occurrences[t.name];
        may_collide |= t.name.find_first_of("._") != std::string::npos;
        manual |= !t.assignments.empty();
    }
    // unified name -> an existing topic with that unified name
    std::map<std::string, std::string> existing_unified;
    if (may_collide)
        for (const auto& info : co_await store.list_topics())
            if (info.name.find_first_of("._") != std::string::npos)
                existing_unified.emplace(unify_collision_chars(info.name), info.name);
    std::vector<storage::broker_info> brokers;
    if (manual) brokers = co_await store.live_brokers();

    protocol::create_topics::response resp;
    for (const auto& t : req.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        rt.error_message = std::nullopt;

        auto result = [&]() -> awaitable<std::optional<failure>> {
            if (occurrences[t.name] > 1)
                co_return failure{error_code::invalid_request, "Duplicate topic name."};
            if (auto err = topic_name_error(t.name))
                co_return failure{error_code::invalid_topic_exception, *err};
            auto u = existing_unified.find(unify_collision_chars(t.name));
            if (u != existing_unified.end() && u->second != t.name)
                co_return failure{error_code::invalid_topic_exception,
                                  "Topic '" + t.name + "' collides with existing topic: " +
                                      u->second};
            if (co_await store.describe_topic(t.name))
                co_return failure{error_code::topic_already_exists,
                                  "Topic '" + t.name + "' already exists."};
            storage::topic_info info{t.name, {}, 0, {}};
            if (auto err = check_configs(t, info.configs)) co_return err;
            if (auto err = check_layout(t, ctx.b.cfg().default_partitions, brokers,
                                        info.partitions))
                co_return err;
            if (req.validate_only) {
                // Kafka hands out a fresh id it never uses for a validate-only request.
                info.id = storage::random_uuid();
            } else {
                auto ec = co_await store.create_topic(info);
                if (ec == error_code::topic_already_exists)  // lost a race with another broker
                    co_return failure{ec, "Topic '" + t.name + "' already exists."};
                if (ec != error_code::none)
                    co_return failure{ec, std::string(protocol::error_name(ec))};
            }
            rt.topic_id = info.id;
            rt.num_partitions = info.partitions;
            rt.replication_factor = 1;
            auto& configs = rt.configs.emplace();
            for (const auto& d : topic_config_defs()) {
                auto& c = configs.emplace_back();
                c.name = std::string(d.name);
                c.value = effective_config(info.configs, d.name);
                c.read_only = false;
                bool explicit_ = info.configs.count(std::string(d.name)) > 0;
                c.config_source = static_cast<std::int8_t>(explicit_ ? config_source::topic
                                                                     : config_source::default_);
                c.is_sensitive = false;
            }
            co_return std::nullopt;
        };
        if (auto err = co_await result()) {
            rt.error_code = code(err->error);
            rt.error_message = err->message;
            rt.num_partitions = -1;
            rt.replication_factor = -1;
            rt.configs.emplace();  // Kafka sends an empty list, not null, on errors
        }
    }
    co_return encode_body(resp, ctx.version());
}

}  // namespace hako::broker
