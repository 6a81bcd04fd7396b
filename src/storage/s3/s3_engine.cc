// s3:// engine: URL, bucket, cluster leases, topics, groups, committed offsets, producer
// ids. The log is in s3_log.cc, maintenance in s3_maintain.cc.
#include "storage/s3/s3_engine.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace hako::storage::s3 {

using json = nlohmann::json;

namespace {

[[noreturn]] void unexpected(const char* what, const response& r) {
    throw std::runtime_error(std::string("s3: ") + what + " answered HTTP " +
                             std::to_string(r.status) + ": " + r.body.substr(0, 200));
}

std::int64_t parse_int(std::string_view v, std::string_view k) {
    try {
        std::size_t used = 0;
        auto n = std::stoll(std::string(v), &used);
        if (used != v.size() || n < 0) throw std::invalid_argument("");
        return n;
    } catch (const std::exception&) {
        throw std::invalid_argument("s3 URL: " + std::string(k) +
                                    " must be a non-negative integer");
    }
}

bool parse_bool(std::string_view v, std::string_view k) {
    if (v == "true" || v == "1") return true;
    if (v == "false" || v == "0") return false;
    throw std::invalid_argument("s3 URL: " + std::string(k) + " must be true or false");
}

// Group documents: the version survives a delete (as a tombstone) so it is never reused.
struct group_doc {
    std::int64_t version = 0;
    bool deleted = false;
    std::string data;
};
std::string encode_group(const group_doc& g) {
    return json{{"version", g.version}, {"deleted", g.deleted}, {"data", base64_encode(g.data)}}
        .dump();
}
group_doc decode_group(std::string_view s) {
    auto j = json::parse(s);
    return {j.at("version").get<std::int64_t>(), j.at("deleted").get<bool>(),
            base64_decode(j.at("data").get<std::string>())};
}

std::string encode_offsets(const std::vector<committed_offset>& v) {
    auto j = json::array();
    for (const auto& o : v)
        j.push_back({{"t", o.topic},
                     {"p", o.partition},
                     {"o", o.offset},
                     {"e", o.leader_epoch},
                     {"m", o.metadata ? json(base64_encode(*o.metadata)) : json()},
                     {"ts", o.commit_timestamp}});
    return j.dump();
}
std::vector<committed_offset> decode_offsets(std::string_view s) {
    std::vector<committed_offset> out;
    for (const auto& o : json::parse(s)) {
        committed_offset c;
        c.topic = o.at("t").get<std::string>();
        c.partition = o.at("p").get<std::int32_t>();
        c.offset = o.at("o").get<std::int64_t>();
        c.leader_epoch = o.at("e").get<std::int32_t>();
        if (!o.at("m").is_null()) c.metadata = base64_decode(o.at("m").get<std::string>());
        c.commit_timestamp = o.at("ts").get<std::int64_t>();
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

url_options parse_url(std::string_view url) {
    constexpr std::string_view scheme = "s3://";
    if (url.substr(0, scheme.size()) != scheme)
        throw std::invalid_argument("s3 URL must start with s3://");
    url_options o;
    auto rest = url.substr(scheme.size());
    auto q = rest.find('?');
    auto path = rest.substr(0, q);
    auto slash = path.find('/');
    o.bucket = std::string(path.substr(0, slash));
    if (o.bucket.empty()) throw std::invalid_argument("s3 URL: no bucket (s3://bucket/prefix)");
    if (slash != std::string_view::npos) {
        auto p = path.substr(slash + 1);
        while (!p.empty() && p.back() == '/') p.remove_suffix(1);
        o.prefix = std::string(p);
    }
    if (q == std::string_view::npos) return o;
    auto params = rest.substr(q + 1);
    while (!params.empty()) {
        auto amp = params.find('&');
        auto kv = params.substr(0, amp);
        params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
        if (kv.empty()) continue;
        auto eq = kv.find('=');
        auto k = kv.substr(0, eq);
        auto v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
        if (k == "path_style")
            o.path_style = parse_bool(v, k);
        else if (k == "linger_ms")
            o.linger = std::chrono::milliseconds(parse_int(v, k));
        else if (k == "max_object_bytes")
            o.max_object_bytes = static_cast<std::size_t>(parse_int(v, k));
        else if (k == "poll_ms")
            o.poll = std::chrono::milliseconds(std::max<std::int64_t>(1, parse_int(v, k)));
        else if (k == "index_roll")
            o.index_roll = static_cast<std::size_t>(std::max<std::int64_t>(4, parse_int(v, k)));
        else if (k == "create_bucket")
            o.create_bucket = parse_bool(v, k);
        else if (k == "request_timeout_ms")
            o.request_timeout =
                std::chrono::milliseconds(std::max<std::int64_t>(1, parse_int(v, k)));
        else if (k == "delete_delay_ms")
            o.delete_delay = std::chrono::milliseconds(std::max<std::int64_t>(0, parse_int(v, k)));
        else if (k == "checkpoint_objects")
            o.checkpoint_objects =
                static_cast<std::size_t>(std::max<std::int64_t>(1, parse_int(v, k)));
        else if (k == "checkpoint_ms")
            o.checkpoint_interval =
                std::chrono::milliseconds(std::max<std::int64_t>(0, parse_int(v, k)));
        else if (k == "cache_bytes")
            o.cache_bytes = static_cast<std::size_t>(parse_int(v, k));
        else if (k == "sign_payload")
            o.sign_payload = parse_bool(v, k);
        else if (k == "connect_to") {
            auto colon = v.rfind(':');
            if (colon == std::string_view::npos || colon == 0 || colon + 1 == v.size() ||
                v.find_first_not_of("0123456789", colon + 1) != std::string_view::npos)
                throw std::invalid_argument("s3 URL: connect_to must be host:port, not '" +
                                            std::string(v) + "'");
            o.connect_to = std::string(v);
        } else
            throw std::invalid_argument(
                "s3 URL: unknown parameter '" + std::string(k) +
                "' (known: path_style, linger_ms, max_object_bytes, poll_ms, index_roll, "
                "create_bucket, request_timeout_ms, cache_bytes, connect_to, sign_payload, "
                "delete_delay_ms, checkpoint_objects, checkpoint_ms)");
    }
    return o;
}

std::unique_ptr<engine> make_s3_engine(std::string_view url, boost::asio::any_io_executor ex) {
    auto opts = parse_url(url);
    auto cfg = config_from_env(opts.bucket);
    if (opts.path_style) cfg.path_style = *opts.path_style;
    cfg.request_timeout = opts.request_timeout;
    cfg.connect_to = opts.connect_to;
    if (opts.sign_payload) cfg.sign_payload = *opts.sign_payload;
    return std::make_unique<s3_engine>(std::move(opts), std::move(cfg), std::move(ex));
}

s3_engine::s3_engine(url_options opts, config cfg, boost::asio::any_io_executor ex)
    : opts_(std::move(opts)), ex_(ex), client_(std::make_unique<client>(std::move(cfg), ex)) {}

s3_engine::~s3_engine() = default;

void s3_engine::shutdown() {
    client_->shutdown();
}

std::string s3_engine::key(std::string_view rel) const {
    return opts_.prefix.empty() ? std::string(rel) : opts_.prefix + "/" + std::string(rel);
}

awaitable<void> s3_engine::ready() {
    if (ready_) co_return;
    auto op = client_->head_bucket();
    auto r = co_await std::move(op);
    if (r.status == 404 && opts_.create_bucket) {
        auto cop = client_->create_bucket();
        r = co_await std::move(cop);
        if (!r.ok() && r.status != 409) unexpected("create bucket", r);
    } else if (r.status == 404) {
        throw std::runtime_error("s3: bucket '" + opts_.bucket +
                                 "' does not exist (create it, or add ?create_bucket=true)");
    } else if (!r.ok()) {
        unexpected("HEAD bucket", r);
    }
    ready_ = true;
}

awaitable<std::vector<list_entry>> s3_engine::list_all(std::string prefix) {
    std::vector<list_entry> out;
    std::optional<std::string> token;
    do {
        auto op = client_->list(prefix, {}, token);
        auto l = co_await std::move(op);
        if (l.status != 200)
            throw std::runtime_error("s3: listing " + prefix + " answered HTTP " +
                                     std::to_string(l.status));
        for (auto& e : l.entries) out.push_back(std::move(e));
        token = l.next_token;
    } while (token);
    co_return out;
}

// --- cluster -------------------------------------------------------------------------------

awaitable<void> s3_engine::register_broker(const broker_info& self, std::int64_t lease_ms) {
    co_await ready();
    json j{{"node_id", self.node_id},
           {"host", self.host},
           {"port", self.port},
           {"rack", self.rack ? json(*self.rack) : json()},
           {"expires_ms", wall_ms() + lease_ms}};
    auto op =
        client_->put(key("cluster/brokers/" + std::to_string(self.node_id) + ".json"), j.dump());
    auto r = co_await std::move(op);
    if (!r.ok()) unexpected("register broker", r);
}

awaitable<std::vector<broker_info>> s3_engine::live_brokers() {
    co_await ready();
    std::vector<broker_info> out;
    auto now = wall_ms();
    auto lop = list_all(key("cluster/brokers/"));
    for (const auto& e : co_await std::move(lop)) {
        auto gop = client_->get(e.key);
        auto r = co_await std::move(gop);
        if (r.status == 404) continue;
        if (!r.ok()) unexpected("GET broker", r);
        auto j = json::parse(r.body);
        if (j.at("expires_ms").get<std::int64_t>() <= now) continue;
        broker_info b;
        b.node_id = j.at("node_id").get<std::int32_t>();
        b.host = j.at("host").get<std::string>();
        b.port = j.at("port").get<std::int32_t>();
        if (!j.at("rack").is_null()) b.rack = j.at("rack").get<std::string>();
        out.push_back(std::move(b));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.node_id < b.node_id; });
    co_return out;
}

// --- topics --------------------------------------------------------------------------------

awaitable<std::optional<std::pair<topic_info, std::string>>> s3_engine::read_topic(
    std::string_view name, bool trust_recent) {
    co_await ready();
    auto k = key("topics/" + key_segment(name) + ".json");
    auto it = topics_.find(std::string(name));
    if (trust_recent && it != topics_.end()) {
        auto checked = topic_checked_.find(std::string(name));
        if (checked != topic_checked_.end() &&
            std::chrono::steady_clock::now() - checked->second < opts_.poll)
            co_return it->second;
    }
    auto op = client_->get(k, {}, it == topics_.end() ? std::string() : it->second.second);
    auto r = co_await std::move(op);
    if (r.status == 304 && it != topics_.end()) {
        topic_checked_[std::string(name)] = std::chrono::steady_clock::now();
        co_return it->second;
    }
    if (r.status == 404) {
        topics_.erase(std::string(name));
        co_return std::nullopt;
    }
    if (!r.ok()) unexpected("GET topic", r);
    auto entry = std::pair{decode_topic(r.body), r.etag};
    topics_[std::string(name)] = entry;
    topic_checked_[std::string(name)] = std::chrono::steady_clock::now();
    co_return entry;
}

awaitable<std::optional<topic_info>> s3_engine::resolve(std::string_view topic,
                                                        std::int32_t partition) {
    auto op = read_topic(topic);
    auto t = co_await std::move(op);
    if (!t || partition < 0 || partition >= t->first.partitions) co_return std::nullopt;
    co_return t->first;
}

awaitable<std::optional<topic_info>> s3_engine::resolve_recent(std::string_view topic,
                                                                   std::int32_t partition) {
    auto op = read_topic(topic, true);
    auto t = co_await std::move(op);
    if (!t || partition < 0 || partition >= t->first.partitions) co_return std::nullopt;
    co_return t->first;
}

awaitable<error_code> s3_engine::create_topic(topic_info& topic) {
    co_await ready();
    topic.id = random_uuid();
    auto op = client_->put(key("topics/" + key_segment(topic.name) + ".json"), encode_topic(topic),
                           put_condition::if_none_match_any);
    auto r = co_await std::move(op);
    if (r.status == 412) {
        if (!r.ambiguous) co_return error_code::topic_already_exists;
        auto again = read_topic(topic.name);  // did our own earlier attempt create it?
        auto t = co_await std::move(again);
        if (!t || t->first.id != topic.id) co_return error_code::topic_already_exists;
    } else if (!r.ok()) {
        unexpected("create topic", r);
    }
    auto iop = client_->put(key("topic-ids/" + uuid_hex(topic.id)), topic.name);
    auto ir = co_await std::move(iop);
    if (!ir.ok()) unexpected("PUT topic id", ir);
    co_return error_code::none;
}

awaitable<error_code> s3_engine::delete_topic(std::string_view name) {
    auto op = read_topic(name);
    auto t = co_await std::move(op);
    if (!t) co_return error_code::unknown_topic_or_partition;
    auto dop = client_->del(key("topics/" + key_segment(name) + ".json"), t->second);
    auto r = co_await std::move(dop);
    if (r.status == 412) co_return error_code::unknown_topic_or_partition;  // changed meanwhile
    if (!r.ok() && r.status != 404) unexpected("DELETE topic", r);
    topics_.erase(std::string(name));
    auto iop = client_->del(key("topic-ids/" + uuid_hex(t->first.id)));
    co_await std::move(iop);
    // Committed offsets of the topic go from every group.
    auto gl = list_all(key("group-offsets/"));
    for (const auto& entry : co_await std::move(gl)) {
        const auto& gk = entry.key;
        for (int attempt = 0; attempt < 20; ++attempt) {
            auto gop = client_->get(gk);
            auto g = co_await std::move(gop);
            if (!g.ok()) break;
            auto offs = decode_offsets(g.body);
            auto n = offs.size();
            std::erase_if(offs, [&](const committed_offset& o) { return o.topic == name; });
            if (offs.size() == n) break;
            auto pop = client_->put(gk, encode_offsets(offs), put_condition::if_match, g.etag);
            auto p = co_await std::move(pop);
            if (p.ok()) break;
        }
    }
    // The log (and its producer state) lives under the topic id: delete it all.
    std::vector<std::string> keys;
    auto ll = list_all(key("log/" + uuid_hex(t->first.id) + "/"));
    for (auto& e : co_await std::move(ll)) keys.push_back(std::move(e.key));
    const auto id = uuid_hex(t->first.id);
    std::erase_if(states_, [&](const auto& kv) {
        if (kv.first.first != id) return false;
        kv.second->dropped = true;  // a checkpoint still running must not store a document
        return true;
    });
    auto del = delete_objects(std::move(keys));
    co_await std::move(del);
    co_return error_code::none;
}

awaitable<void> s3_engine::delete_objects(std::vector<std::string> keys) {
    for (const auto& k : keys) {
        auto op = client_->del(k);
        co_await std::move(op);
        if (auto it = lru_index_.find(k); it != lru_index_.end()) {
            lru_bytes_ -= it->second->second->size();
            lru_.erase(it->second);
            lru_index_.erase(it);
        }
    }
}

awaitable<std::vector<topic_info>> s3_engine::list_topics() {
    co_await ready();
    std::vector<std::string> names;
    const auto prefix = key("topics/");
    auto lop = list_all(prefix);
    for (const auto& e : co_await std::move(lop)) {
        if (!e.key.ends_with(".json")) continue;
        // the cached document is current when its ETag is the listed one
        auto name =
            key_segment_decode(e.key.substr(prefix.size(), e.key.size() - prefix.size() - 5));
        if (auto it = topics_.find(name); it != topics_.end() && it->second.second == e.etag) {
            names.push_back(name);
            continue;
        }
        auto gop = client_->get(e.key);
        auto r = co_await std::move(gop);
        if (r.status == 404) continue;
        if (!r.ok()) unexpected("GET topic", r);
        auto info = decode_topic(r.body);
        names.push_back(info.name);
        topics_[info.name] = {info, r.etag};
    }
    std::vector<topic_info> out;
    for (auto& n : names) out.push_back(topics_.at(n).first);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    co_return out;
}

awaitable<std::optional<topic_info>> s3_engine::describe_topic(std::string_view name) {
    auto op = read_topic(name);
    auto t = co_await std::move(op);
    if (!t) co_return std::nullopt;
    co_return t->first;
}

// Produce asks for its topics once per request: a copy confirmed within poll_ms serves.
awaitable<std::optional<topic_info>> s3_engine::describe_topic_recent(std::string_view name) {
    auto op = read_topic(name, true);
    auto t = co_await std::move(op);
    if (!t) co_return std::nullopt;
    co_return t->first;
}

awaitable<std::optional<topic_info>> s3_engine::describe_topic_by_id(const protocol::uuid& id) {
    auto op = topic_by_id(id, false);
    co_return co_await std::move(op);
}

awaitable<std::optional<topic_info>> s3_engine::describe_topic_by_id_recent(
    const protocol::uuid& id) {
    auto op = topic_by_id(id, true);
    co_return co_await std::move(op);
}

// Fetch v13+ names topics by id, once per request. An id's name never changes, so it is
// read once (a deleted or recreated topic fails the id check below).
awaitable<std::optional<topic_info>> s3_engine::topic_by_id(const protocol::uuid& id,
                                                            bool trust_recent) {
    co_await ready();
    auto hex = uuid_hex(id);
    auto known = topic_names_.find(hex);
    std::string name;
    if (known != topic_names_.end()) {
        name = known->second;
    } else {
        auto op = client_->get(key("topic-ids/" + hex));
        auto r = co_await std::move(op);
        if (r.status == 404) co_return std::nullopt;
        if (!r.ok()) unexpected("GET topic id", r);
        name = r.body;
        topic_names_[hex] = name;
    }
    auto top = read_topic(name, trust_recent);
    auto t = co_await std::move(top);
    if (!t || t->first.id != id) co_return std::nullopt;
    co_return t->first;
}

awaitable<error_code> s3_engine::set_topic_configs(std::string_view name, config_map c) {
    for (;;) {
        auto op = read_topic(name);
        auto t = co_await std::move(op);
        if (!t) co_return error_code::unknown_topic_or_partition;
        auto info = t->first;
        info.configs = c;
        auto pop = client_->put(key("topics/" + key_segment(name) + ".json"), encode_topic(info),
                                put_condition::if_match, t->second);
        auto r = co_await std::move(pop);
        if (r.ok()) {
            topics_[std::string(name)] = {info, r.etag};
            topic_checked_[std::string(name)] = std::chrono::steady_clock::now();
            co_return error_code::none;
        }
        if (r.status != 412) unexpected("PUT topic", r);
        topics_.erase(std::string(name));  // lost a race: read again
    }
}

awaitable<error_code> s3_engine::create_partitions(std::string_view name, std::int32_t total) {
    for (;;) {
        auto op = read_topic(name);
        auto t = co_await std::move(op);
        if (!t) co_return error_code::unknown_topic_or_partition;
        if (total <= t->first.partitions) co_return error_code::invalid_partitions;
        auto info = t->first;
        info.partitions = total;
        auto pop = client_->put(key("topics/" + key_segment(name) + ".json"), encode_topic(info),
                                put_condition::if_match, t->second);
        auto r = co_await std::move(pop);
        if (r.ok()) {
            topics_[std::string(name)] = {info, r.etag};
            topic_checked_[std::string(name)] = std::chrono::steady_clock::now();
            co_return error_code::none;
        }
        if (r.status != 412) unexpected("PUT topic", r);
        topics_.erase(std::string(name));
    }
}

// --- producer ids ---------------------------------------------------------------------------

awaitable<std::int64_t> s3_engine::allocate_producer_id() {
    constexpr std::int64_t block = 100;
    while (pid_next_ >= pid_end_) {
        co_await ready();
        auto k = key("cluster/producer-ids.json");
        auto gop = client_->get(k);
        auto g = co_await std::move(gop);
        std::int64_t next = 0;
        if (g.ok())
            next = json::parse(g.body).at("next").get<std::int64_t>();
        else if (g.status != 404)
            unexpected("GET producer ids", g);
        auto body = json{{"next", next + block}}.dump();
        auto pop = g.ok() ? client_->put(k, body, put_condition::if_match, g.etag)
                          : client_->put(k, body, put_condition::if_none_match_any);
        auto r = co_await std::move(pop);
        if (r.ok()) {
            pid_next_ = next;
            pid_end_ = next + block;
        } else if (r.status != 412) {
            unexpected("PUT producer ids", r);
        }
        // 412: another broker took this block; an ambiguous 412 may have been ours, but a
        // skipped block only wastes ids, never repeats one.
    }
    co_return pid_next_++;
}

// --- groups ---------------------------------------------------------------------------------

awaitable<std::optional<group_state>> s3_engine::load_group(std::string_view group_id) {
    co_await ready();
    auto op = client_->get(key("groups/" + key_segment(group_id) + ".json"));
    auto r = co_await std::move(op);
    if (r.status == 404) co_return std::nullopt;
    if (!r.ok()) unexpected("GET group", r);
    auto g = decode_group(r.body);
    if (g.deleted) co_return std::nullopt;
    co_return group_state{std::string(group_id), std::move(g.data), g.version};
}

awaitable<std::optional<std::int64_t>> s3_engine::store_group(std::string_view group_id,
                                                              std::string data,
                                                              std::int64_t expected_version) {
    co_await ready();
    auto k = key("groups/" + key_segment(group_id) + ".json");
    auto gop = client_->get(k);
    auto g = co_await std::move(gop);
    group_doc next;
    next.data = std::move(data);
    response r;
    if (g.status == 404) {
        if (expected_version != 0) co_return std::nullopt;
        next.version = 1;
        auto op = client_->put(k, encode_group(next), put_condition::if_none_match_any);
        r = co_await std::move(op);
    } else if (g.ok()) {
        auto cur = decode_group(g.body);
        if ((cur.deleted ? 0 : cur.version) != expected_version) co_return std::nullopt;
        next.version = cur.version + 1;
        auto op = client_->put(k, encode_group(next), put_condition::if_match, g.etag);
        r = co_await std::move(op);
    } else {
        unexpected("GET group", g);
    }
    if (r.ok()) co_return next.version;
    if (r.status != 412) unexpected("PUT group", r);
    if (r.ambiguous) {  // an earlier attempt of ours may be what made it fail
        auto again = client_->get(k);
        auto a = co_await std::move(again);
        if (a.ok()) {
            auto cur = decode_group(a.body);
            if (!cur.deleted && cur.version == next.version && cur.data == next.data)
                co_return next.version;
        }
    }
    co_return std::nullopt;
}

awaitable<bool> s3_engine::delete_group(std::string_view group_id, std::int64_t expected_version) {
    co_await ready();
    auto k = key("groups/" + key_segment(group_id) + ".json");
    auto gop = client_->get(k);
    auto g = co_await std::move(gop);
    if (!g.ok()) co_return false;
    auto cur = decode_group(g.body);
    if (cur.deleted || cur.version != expected_version) co_return false;
    group_doc tomb{cur.version, true, {}};
    auto pop = client_->put(k, encode_group(tomb), put_condition::if_match, g.etag);
    auto r = co_await std::move(pop);
    if (!r.ok()) co_return false;
    auto dop = client_->del(key("group-offsets/" + key_segment(group_id) + ".json"));
    co_await std::move(dop);
    co_return true;
}

awaitable<std::vector<group_state>> s3_engine::list_groups() {
    co_await ready();
    std::vector<group_state> out;
    const auto prefix = key("groups/");
    auto lop = list_all(prefix);
    for (const auto& e : co_await std::move(lop)) {
        if (!e.key.ends_with(".json")) continue;
        auto gop = client_->get(e.key);
        auto r = co_await std::move(gop);
        if (!r.ok()) continue;
        auto g = decode_group(r.body);
        if (g.deleted) continue;
        auto id = key_segment_decode(e.key.substr(prefix.size(), e.key.size() - prefix.size() - 5));
        out.push_back({std::move(id), std::move(g.data), g.version});
    }
    co_return out;
}

awaitable<void> s3_engine::commit_offsets(std::string_view group_id,
                                          std::vector<committed_offset> offsets) {
    co_await ready();
    auto k = key("group-offsets/" + key_segment(group_id) + ".json");
    for (;;) {
        auto gop = client_->get(k);
        auto g = co_await std::move(gop);
        std::vector<committed_offset> cur;
        if (g.ok())
            cur = decode_offsets(g.body);
        else if (g.status != 404)
            unexpected("GET offsets", g);
        for (const auto& o : offsets) {
            auto it = std::find_if(cur.begin(), cur.end(), [&](const committed_offset& c) {
                return c.topic == o.topic && c.partition == o.partition;
            });
            if (it != cur.end())
                *it = o;
            else
                cur.push_back(o);
        }
        auto pop = g.ok() ? client_->put(k, encode_offsets(cur), put_condition::if_match, g.etag)
                          : client_->put(k, encode_offsets(cur), put_condition::if_none_match_any);
        auto r = co_await std::move(pop);
        if (r.ok() || (r.status == 412 && r.ambiguous)) {
            // an ambiguous 412 retries the merge, which is idempotent
            if (r.ok()) co_return;
            continue;
        }
        if (r.status != 412) unexpected("PUT offsets", r);
    }
}

awaitable<std::vector<committed_offset>> s3_engine::fetch_offsets(std::string_view group_id) {
    co_await ready();
    auto op = client_->get(key("group-offsets/" + key_segment(group_id) + ".json"));
    auto r = co_await std::move(op);
    if (r.status == 404) co_return std::vector<committed_offset>{};
    if (!r.ok()) unexpected("GET offsets", r);
    co_return decode_offsets(r.body);
}

awaitable<void> s3_engine::delete_offsets(std::string_view group_id,
                                          std::vector<std::pair<std::string, std::int32_t>> parts) {
    co_await ready();
    auto k = key("group-offsets/" + key_segment(group_id) + ".json");
    for (;;) {
        auto gop = client_->get(k);
        auto g = co_await std::move(gop);
        if (g.status == 404) co_return;
        if (!g.ok()) unexpected("GET offsets", g);
        auto cur = decode_offsets(g.body);
        auto n = cur.size();
        std::erase_if(cur, [&](const committed_offset& c) {
            return std::find(parts.begin(), parts.end(), std::pair{c.topic, c.partition}) !=
                   parts.end();
        });
        if (cur.size() == n) co_return;
        auto pop = client_->put(k, encode_offsets(cur), put_condition::if_match, g.etag);
        auto r = co_await std::move(pop);
        if (r.ok()) co_return;
        if (r.status != 412) unexpected("PUT offsets", r);
    }
}

}  // namespace hako::storage::s3
