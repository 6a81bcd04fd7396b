// sqlite:// engine: cluster membership, topics and consumer groups. The log lives in
// sqlite_log.cc.
#include "storage/sqlite/sqlite_engine.h"

#include <chrono>
#include <cstring>

namespace hako::storage::sqlite {

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string_view uuid_bytes(const protocol::uuid& u) {
    return {reinterpret_cast<const char*>(u.data()), u.size()};
}

protocol::uuid to_uuid(std::string_view b) {
    protocol::uuid u{};
    if (b.size() == u.size()) std::memcpy(u.data(), b.data(), u.size());
    return u;
}

config_map read_configs(db& d, std::string_view topic) {
    config_map c;
    auto& q = d.prepare("SELECT name, value FROM topic_config WHERE topic = ?");
    q.bind(1, topic);
    while (q.step()) c[q.text(0)] = q.text(1);
    return c;
}

std::optional<topic_info> read_topic(db& d, const char* sql, auto key) {
    auto& q = d.prepare(sql);
    if constexpr (std::is_same_v<decltype(key), protocol::uuid>)
        q.bind_blob(1, uuid_bytes(key));
    else
        q.bind(1, key);
    if (!q.step()) return std::nullopt;
    topic_info t;
    t.name = q.text(0);
    t.id = to_uuid(q.blob_view(1));
    t.partitions = static_cast<std::int32_t>(q.int64(2));
    q.reset();
    t.configs = read_configs(d, t.name);
    return t;
}

}  // namespace

sqlite_engine::sqlite_engine(open_options opts, boost::asio::any_io_executor ex)
    : ex_(std::move(ex)), worker_(std::make_unique<worker>(std::move(opts), migrate)) {}

awaitable<void> sqlite_engine::register_broker(const broker_info& self, std::int64_t lease_ms) {
    auto expiry = now_ms() + lease_ms;
    auto op = worker_->write<bool>([self, expiry](db& d) {
        auto& q = d.prepare(
            "INSERT INTO cluster_broker (node_id, host, port, rack, lease_expiry_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET host = excluded.host, "
            "port = excluded.port, rack = excluded.rack, lease_expiry_ms = excluded.lease_expiry_ms");
        q.bind(1, self.node_id).bind(2, self.host).bind(3, self.port);
        if (self.rack)
            q.bind(4, *self.rack);
        else
            q.bind_null(4);
        q.bind(5, expiry).run();
        return true;
    });
    co_await std::move(op);
}

awaitable<std::vector<broker_info>> sqlite_engine::live_brokers() {
    auto now = now_ms();
    auto op = worker_->read<std::vector<broker_info>>([now](db& d) {
        std::vector<broker_info> out;
        auto& q = d.prepare(
            "SELECT node_id, host, port, rack FROM cluster_broker WHERE lease_expiry_ms > ? "
            "ORDER BY node_id");
        q.bind(1, now);
        while (q.step()) {
            broker_info b;
            b.node_id = static_cast<std::int32_t>(q.int64(0));
            b.host = q.text(1);
            b.port = static_cast<std::int32_t>(q.int64(2));
            if (!q.is_null(3)) b.rack = q.text(3);
            out.push_back(std::move(b));
        }
        return out;
    });
    co_return co_await std::move(op);
}

awaitable<error_code> sqlite_engine::create_topic(topic_info& topic) {
    topic.id = random_uuid();
    auto now = now_ms();
    auto op = worker_->write<error_code>([topic, now](db& d) {
        auto& q = d.prepare(
            "INSERT INTO topic (name, id, partitions, created_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO NOTHING");
        q.bind(1, topic.name).bind_blob(2, uuid_bytes(topic.id)).bind(3, topic.partitions).bind(4, now).run();
        if (d.changes() == 0) return error_code::topic_already_exists;
        for (const auto& [k, v] : topic.configs)
            d.prepare("INSERT INTO topic_config (topic, name, value) VALUES (?, ?, ?)")
                .bind(1, topic.name)
                .bind(2, k)
                .bind(3, v)
                .run();
        for (std::int32_t p = 0; p < topic.partitions; ++p)
            d.prepare("INSERT INTO partition (topic, \"partition\") VALUES (?, ?)")
                .bind(1, topic.name)
                .bind(2, p)
                .run();
        return error_code::none;
    });
    co_return co_await std::move(op);
}

awaitable<error_code> sqlite_engine::delete_topic(std::string_view name) {
    auto op = worker_->write<error_code>([n = std::string(name)](db& d) {
        d.prepare("DELETE FROM topic WHERE name = ?").bind(1, n).run();
        if (d.changes() == 0) return error_code::unknown_topic_or_partition;
        for (const char* sql : {"DELETE FROM topic_config WHERE topic = ?",
                                "DELETE FROM partition WHERE topic = ?",
                                "DELETE FROM batch WHERE topic = ?",
                                "DELETE FROM record WHERE topic = ?",
                                "DELETE FROM record_header WHERE topic = ?",
                                "DELETE FROM committed_offset WHERE topic = ?",
                                "DELETE FROM producer_state WHERE topic = ?"})
            d.prepare(sql).bind(1, n).run();
        return error_code::none;
    });
    co_return co_await std::move(op);
}

awaitable<std::vector<topic_info>> sqlite_engine::list_topics() {
    auto op = worker_->read<std::vector<topic_info>>([](db& d) {
        std::vector<topic_info> out;
        auto& q = d.prepare("SELECT name, id, partitions FROM topic ORDER BY name");
        while (q.step()) {
            topic_info t;
            t.name = q.text(0);
            t.id = to_uuid(q.blob_view(1));
            t.partitions = static_cast<std::int32_t>(q.int64(2));
            out.push_back(std::move(t));
        }
        for (auto& t : out) t.configs = read_configs(d, t.name);
        return out;
    });
    co_return co_await std::move(op);
}

awaitable<std::optional<topic_info>> sqlite_engine::describe_topic(std::string_view name) {
    auto op = worker_->read<std::optional<topic_info>>([n = std::string(name)](db& d) {
        return read_topic(d, "SELECT name, id, partitions FROM topic WHERE name = ?", n);
    });
    co_return co_await std::move(op);
}

awaitable<std::optional<topic_info>> sqlite_engine::describe_topic_by_id(const protocol::uuid& id) {
    auto op = worker_->read<std::optional<topic_info>>([id](db& d) {
        return read_topic(d, "SELECT name, id, partitions FROM topic WHERE id = ?", id);
    });
    co_return co_await std::move(op);
}

awaitable<error_code> sqlite_engine::set_topic_configs(std::string_view name, config_map c) {
    auto op = worker_->write<error_code>([n = std::string(name), c = std::move(c)](db& d) {
        auto& q = d.prepare("SELECT 1 FROM topic WHERE name = ?");
        q.bind(1, n);
        if (!q.step()) return error_code::unknown_topic_or_partition;
        q.reset();
        d.prepare("DELETE FROM topic_config WHERE topic = ?").bind(1, n).run();
        for (const auto& [k, v] : c)
            d.prepare("INSERT INTO topic_config (topic, name, value) VALUES (?, ?, ?)")
                .bind(1, n)
                .bind(2, k)
                .bind(3, v)
                .run();
        return error_code::none;
    });
    co_return co_await std::move(op);
}

awaitable<error_code> sqlite_engine::create_partitions(std::string_view name, std::int32_t total) {
    auto op = worker_->write<error_code>([n = std::string(name), total](db& d) {
        auto& q = d.prepare("SELECT partitions FROM topic WHERE name = ?");
        q.bind(1, n);
        if (!q.step()) return error_code::unknown_topic_or_partition;
        auto current = static_cast<std::int32_t>(q.int64(0));
        q.reset();
        if (total <= current) return error_code::invalid_partitions;
        d.prepare("UPDATE topic SET partitions = ? WHERE name = ?").bind(1, total).bind(2, n).run();
        for (auto p = current; p < total; ++p)
            d.prepare("INSERT INTO partition (topic, \"partition\") VALUES (?, ?)")
                .bind(1, n)
                .bind(2, p)
                .run();
        return error_code::none;
    });
    co_return co_await std::move(op);
}

awaitable<std::int64_t> sqlite_engine::allocate_producer_id() {
    auto op = worker_->write<std::int64_t>([](db& d) {
        auto& q = d.prepare("UPDATE producer_id_sequence SET next = next + 1 WHERE id = 0 "
                            "RETURNING next - 1");
        if (!q.step()) throw std::runtime_error("producer id sequence row missing");
        auto id = q.int64(0);
        q.reset();
        return id;
    });
    co_return co_await std::move(op);
}

// --- consumer groups ---------------------------------------------------------------------

awaitable<std::optional<group_state>> sqlite_engine::load_group(std::string_view group_id) {
    auto op = worker_->read<std::optional<group_state>>([g = std::string(group_id)](db& d) {
        auto& q = d.prepare("SELECT data, version FROM consumer_group WHERE group_id = ?");
        q.bind(1, g);
        if (!q.step()) return std::optional<group_state>();
        group_state s{g, std::string(q.blob_view(0)), q.int64(1)};
        q.reset();
        return std::optional<group_state>(std::move(s));
    });
    co_return co_await std::move(op);
}

awaitable<std::optional<std::int64_t>> sqlite_engine::store_group(std::string_view group_id,
                                                                  std::string data,
                                                                  std::int64_t expected_version) {
    auto op = worker_->write<std::optional<std::int64_t>>(
        [g = std::string(group_id), data = std::move(data), expected_version](db& d) {
            auto& seq = d.prepare("UPDATE group_version_sequence SET next = next + 1 WHERE id = 0 "
                                  "RETURNING next - 1");
            if (!seq.step()) throw std::runtime_error("group version sequence row missing");
            auto version = seq.int64(0);
            seq.reset();
            if (expected_version == 0) {
                d.prepare("INSERT INTO consumer_group (group_id, data, version) VALUES (?, ?, ?) "
                          "ON CONFLICT (group_id) DO NOTHING")
                    .bind(1, g)
                    .bind_blob(2, std::string_view(data))
                    .bind(3, version)
                    .run();
            } else {
                d.prepare("UPDATE consumer_group SET data = ?, version = ? "
                          "WHERE group_id = ? AND version = ?")
                    .bind_blob(1, std::string_view(data))
                    .bind(2, version)
                    .bind(3, g)
                    .bind(4, expected_version)
                    .run();
            }
            if (d.changes() != 1) return std::optional<std::int64_t>();
            return std::optional<std::int64_t>(version);
        });
    co_return co_await std::move(op);
}

awaitable<bool> sqlite_engine::delete_group(std::string_view group_id, std::int64_t expected_version) {
    auto op = worker_->write<bool>([g = std::string(group_id), expected_version](db& d) {
        d.prepare("DELETE FROM consumer_group WHERE group_id = ? AND version = ?")
            .bind(1, g)
            .bind(2, expected_version)
            .run();
        if (d.changes() != 1) return false;
        d.prepare("DELETE FROM committed_offset WHERE group_id = ?").bind(1, g).run();
        return true;
    });
    co_return co_await std::move(op);
}

awaitable<std::vector<group_state>> sqlite_engine::list_groups() {
    auto op = worker_->read<std::vector<group_state>>([](db& d) {
        std::vector<group_state> out;
        auto& q = d.prepare("SELECT group_id, data, version FROM consumer_group ORDER BY group_id");
        while (q.step()) out.push_back({q.text(0), std::string(q.blob_view(1)), q.int64(2)});
        return out;
    });
    co_return co_await std::move(op);
}

awaitable<void> sqlite_engine::commit_offsets(std::string_view group_id,
                                              std::vector<committed_offset> offsets) {
    auto op = worker_->write<bool>([g = std::string(group_id), offsets = std::move(offsets)](db& d) {
        for (const auto& o : offsets) {
            auto& q = d.prepare(
                "INSERT INTO committed_offset (group_id, topic, \"partition\", committed, "
                "leader_epoch, metadata, commit_ms) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (group_id, topic, \"partition\") DO UPDATE SET "
                "committed = excluded.committed, leader_epoch = excluded.leader_epoch, "
                "metadata = excluded.metadata, commit_ms = excluded.commit_ms");
            q.bind(1, g).bind(2, o.topic).bind(3, o.partition).bind(4, o.offset).bind(5, o.leader_epoch);
            if (o.metadata)
                q.bind(6, *o.metadata);
            else
                q.bind_null(6);
            q.bind(7, o.commit_timestamp).run();
        }
        return true;
    });
    co_await std::move(op);
}

awaitable<std::vector<committed_offset>> sqlite_engine::fetch_offsets(std::string_view group_id) {
    auto op = worker_->read<std::vector<committed_offset>>([g = std::string(group_id)](db& d) {
        std::vector<committed_offset> out;
        auto& q = d.prepare(
            "SELECT topic, \"partition\", committed, leader_epoch, metadata, commit_ms "
            "FROM committed_offset WHERE group_id = ? ORDER BY topic, \"partition\"");
        q.bind(1, g);
        while (q.step()) {
            committed_offset o;
            o.topic = q.text(0);
            o.partition = static_cast<std::int32_t>(q.int64(1));
            o.offset = q.int64(2);
            o.leader_epoch = static_cast<std::int32_t>(q.int64(3));
            if (!q.is_null(4)) o.metadata = q.text(4);
            o.commit_timestamp = q.int64(5);
            out.push_back(std::move(o));
        }
        return out;
    });
    co_return co_await std::move(op);
}

awaitable<void> sqlite_engine::delete_offsets(std::string_view group_id,
                                              std::vector<std::pair<std::string, std::int32_t>> parts) {
    auto op = worker_->write<bool>([g = std::string(group_id), parts = std::move(parts)](db& d) {
        for (const auto& [t, p] : parts)
            d.prepare("DELETE FROM committed_offset WHERE group_id = ? AND topic = ? AND \"partition\" = ?")
                .bind(1, g)
                .bind(2, t)
                .bind(3, p)
                .run();
        return true;
    });
    co_await std::move(op);
}

}  // namespace hako::storage::sqlite
