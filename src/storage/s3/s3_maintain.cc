// s3:// engine: DeleteRecords, retention and compaction. Each moves the watermark by
// compare-and-swap first and retires the objects nobody can reach any more; they are
// deleted once their delete_delay has passed (a writer may still be creating the key
// after them on a view of the log that old: README.md, "Produce").
#include <set>
#include <unordered_map>

#include "protocol/record_batch.h"
#include "storage/s3/s3_engine.h"
#include "storage/s3/sigv4.h"

namespace hako::storage::s3 {

namespace {

constexpr std::size_t max_uncompressed = 256u << 20;

// Drops the object entries and segments wholly below the log start; returns their names.
std::vector<std::string> drop_below_start(partition_state& st) {
    std::vector<std::string> gone;
    std::erase_if(st.objects, [&](const object_entry& e) {
        if (e.last >= st.log_start) return false;
        gone.push_back(e.name);
        return true;
    });
    std::erase_if(st.segments, [&](const segment_ref& s) {
        if (s.last >= st.log_start) return false;
        gone.push_back(s.name);  // its objects are listed below via all_entries first
        return true;
    });
    return gone;
}

}  // namespace

void s3_engine::retire(partition_state& st, std::vector<std::string> names) const {
    const auto due = wall_ms() + opts_.delete_delay.count();
    for (auto& n : names) st.retired.push_back({std::move(n), due});
}

awaitable<void> s3_engine::purge_retired(const topic_info& t, std::int32_t partition,
                                         cached_state& c) {
    const auto now = wall_ms();
    std::vector<std::string> keys;
    std::set<std::string> gone;
    for (const auto& r : c.st.retired)
        if (r.due_ms <= now) {
            keys.push_back(part_prefix(t, partition) + r.name);
            gone.insert(r.name);
        }
    if (keys.empty()) co_return;
    auto dop = delete_objects(std::move(keys));  // first: a crash after it deletes again
    co_await std::move(dop);
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto next = c.st;
        auto n = std::erase_if(next.retired, [&](const partition_state::retired_key& r) {
            return gone.count(r.name) > 0;
        });
        if (n == 0) co_return;
        auto sop = swap_state(t, partition, c, std::move(next));
        if (co_await std::move(sop)) co_return;
        auto op = refresh(t, partition);
        co_await std::move(op);
    }
}

awaitable<partition_offsets> s3_engine::delete_records(std::string_view topic,
                                                       std::int32_t partition,
                                                       std::int64_t offset) {
    auto rop = resolve(topic, partition);
    auto t = co_await std::move(rop);
    if (!t) co_return partition_offsets{error_code::unknown_topic_or_partition};
    for (;;) {
        auto op = latest(*t, partition);
        auto& c = *co_await std::move(op);
        auto target = offset == -1 ? c.st.next : offset;
        if (target < 0 || target > c.st.next)
            co_return partition_offsets{error_code::offset_out_of_range};
        if (target <= c.st.log_start)
            co_return partition_offsets{error_code::none, c.st.log_start, c.st.next, c.st.next};
        auto next = c.st;
        next.log_start = target;
        // objects inside dropped segments go too
        std::vector<std::string> names;
        for (const auto& seg : next.segments)
            if (seg.last < target) {
                auto sop = segment_entries(*t, partition, seg);
                for (auto& e : co_await std::move(sop)) names.push_back(e.name);
            }
        for (auto& n : drop_below_start(next)) names.push_back(n);
        retire(next, std::move(names));
        auto sop = swap_state(*t, partition, c, std::move(next));
        if (!co_await std::move(sop)) continue;
        auto dop = purge_retired(*t, partition, c);
        co_await std::move(dop);
        co_return partition_offsets{error_code::none, c.st.log_start, c.st.next, c.st.next};
    }
}

awaitable<partition_offsets> s3_engine::maintain(std::string_view topic, std::int32_t partition,
                                                 const retention_policy& pol) {
    auto rop = resolve(topic, partition);
    auto t = co_await std::move(rop);
    if (!t) co_return partition_offsets{error_code::unknown_topic_or_partition};
    const auto prefix = part_prefix(*t, partition);
    for (int attempt = 0; attempt < 20; ++attempt) {
        auto op = latest(*t, partition);
        auto& c = *co_await std::move(op);
        auto eop = all_entries(*t, partition, c.st);
        auto entries = co_await std::move(eop);
        auto next = c.st;
        // Retention: whole objects from the front, as Kafka drops whole segments.
        if (pol.retention_ms >= 0) {
            auto cutoff = pol.now_ms - pol.retention_ms;
            for (const auto& e : entries) {
                if (e.max_timestamp >= cutoff) break;
                next.log_start = std::max(next.log_start, e.last + 1);
            }
        }
        if (pol.retention_bytes >= 0) {
            std::int64_t total = 0;
            for (const auto& e : entries)
                if (e.last >= next.log_start) total += e.bytes;
            for (const auto& e : entries) {
                if (total <= pol.retention_bytes) break;
                if (e.last < next.log_start) continue;
                total -= e.bytes;
                next.log_start = std::max(next.log_start, e.last + 1);
            }
        }
        std::vector<std::string> garbage;
        bool changed = next.log_start != c.st.log_start;
        if (pol.compact) {
            // Everything live is read: the newest offset of each key decides.
            std::vector<std::pair<object_entry, std::shared_ptr<const object_body>>> live;
            std::unordered_map<std::string, std::int64_t> newest;
            for (const auto& e : entries) {
                if (e.last < next.log_start) continue;
                auto bop = read_object(*t, partition, e);
                auto body = co_await std::move(bop);
                if (!body) {
                    live.clear();
                    break;
                }
                body->for_each_batch([&](const protocol::batch_header& h, std::string_view b) {
                    if (!h.is_control())
                        for (const auto& r : protocol::decode_records(b, max_uncompressed))
                            if (r.key) newest[*r.key] = h.base_offset + r.offset_delta;
                });
                live.emplace_back(e, body);
            }
            auto lag_cutoff = pol.now_ms - pol.min_compaction_lag_ms;
            auto tomb_cutoff = pol.now_ms - pol.delete_retention_ms;
            std::map<std::string, std::optional<object_entry>> replaced;  // old name -> new
            for (auto& [e, body] : live) {
                std::string out;
                bool any_change = false;
                body->for_each_batch([&](const protocol::batch_header& h, std::string_view b) {
                    if (h.is_control()) {
                        out.append(b);
                        return;
                    }
                    auto kept = batches::filter_batch(
                        b, [&](std::int64_t off, std::int64_t ts, const protocol::record& r) {
                            if (!r.key || ts >= lag_cutoff) return true;
                            if (newest[*r.key] != off) return false;
                            return r.value.has_value() || ts >= tomb_cutoff;
                        });
                    if (kept.changed || !kept.bytes) any_change = true;
                    if (kept.bytes) out += *kept.bytes;
                });
                if (!any_change) continue;
                if (out.empty()) {
                    replaced[e.name] = std::nullopt;
                    continue;
                }
                auto ne = e;
                ne.name = offset_name(e.base) + ".c" + std::to_string(wall_ms()) + "-" +
                          std::to_string(attempt) + ".batch";
                ne.bytes = static_cast<std::int64_t>(out.size());
                auto pop = client_->put(prefix + ne.name, out);
                auto pr = co_await std::move(pop);
                if (!pr.ok()) throw std::runtime_error("s3: PUT compacted object answered HTTP " +
                                                       std::to_string(pr.status));
                cache_object(prefix + ne.name,
                             std::make_shared<const object_body>(object_body{{std::move(out)}}));
                replaced[e.name] = ne;
            }
            if (!replaced.empty()) {
                changed = true;
                auto apply = [&](std::vector<object_entry>& list) {
                    bool touched = false;
                    std::vector<object_entry> out;
                    for (auto& e : list) {
                        auto it = replaced.find(e.name);
                        if (it == replaced.end()) {
                            out.push_back(e);
                            continue;
                        }
                        touched = true;
                        garbage.push_back(e.name);
                        if (it->second) out.push_back(*it->second);
                    }
                    list = std::move(out);
                    return touched;
                };
                apply(next.objects);
                for (auto& seg : next.segments) {
                    auto sop = segment_entries(*t, partition, seg);
                    auto list = co_await std::move(sop);
                    if (!apply(list)) continue;
                    garbage.push_back(seg.name);
                    if (list.empty()) {
                        seg.name.clear();
                        continue;
                    }
                    auto body = encode_segment(list);
                    seg.name = "index/" + offset_name(seg.first) + "-" + offset_name(seg.last) + "-" +
                               sha256_hex(body).substr(0, 12) + ".json";
                    auto pop = client_->put(prefix + seg.name, body);
                    auto pr = co_await std::move(pop);
                    if (!pr.ok()) throw std::runtime_error("s3: PUT index segment failed");
                    segments_[seg.name] = list;
                }
                std::erase_if(next.segments, [](const segment_ref& s) { return s.name.empty(); });
            }
        }
        if (!changed) {
            // Periodic care: store a chain its writer left unsaved (it may have died), and
            // delete what is due.
            auto cop = catch_up(*t, partition, c);
            co_await std::move(cop);
            co_return partition_offsets{error_code::none, c.st.log_start, c.st.next, c.st.next};
        }
        for (const auto& seg : next.segments)
            if (seg.last < next.log_start) {
                auto sop = segment_entries(*t, partition, seg);
                for (auto& e : co_await std::move(sop)) garbage.push_back(e.name);
            }
        for (auto& n : drop_below_start(next)) garbage.push_back(n);
        retire(next, std::move(garbage));
        auto rop = maybe_roll(*t, partition, next);
        co_await std::move(rop);
        auto sop = swap_state(*t, partition, c, std::move(next));
        if (!co_await std::move(sop)) continue;  // an append won the race: start again
        auto dop = purge_retired(*t, partition, c);
        co_await std::move(dop);
        co_return partition_offsets{error_code::none, c.st.log_start, c.st.next, c.st.next};
    }
    co_return partition_offsets{error_code::none, -1, -1, -1};
}

}  // namespace hako::storage::s3
