// s3:// engine: the log. The create-only PUT of the object at the watermark's `next` is
// the commit point; the watermark swap that follows is finished by whoever gets there
// first (the writer, or the next writer that finds the object taken). README.md explains
// why that keeps offsets dense across brokers.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/crc32c.h"
#include "protocol/record_batch.h"
#include "storage/producer_state.h"
#include "storage/s3/s3_engine.h"
#include "storage/s3/sigv4.h"

namespace hako::storage::s3 {

namespace asio = boost::asio;

namespace {

constexpr std::size_t max_uncompressed = 256u << 20;

// Folds an object found in storage into a watermark (the "help" path): its offsets, and
// the sequences of the idempotent producers whose batches it holds.
void fold_object(partition_state& st, const std::string& name, std::string_view body) {
    object_entry e;
    e.base = st.next;
    e.name = name;
    e.bytes = static_cast<std::int64_t>(body.size());
    for_each_batch(body, [&](const protocol::batch_header& h, std::string_view) {
        e.last = h.last_offset();
        e.max_timestamp = std::max(e.max_timestamp, h.max_timestamp);
        if (h.producer_id >= 0) {
            append_request r;
            r.producer_id = h.producer_id;
            r.producer_epoch = h.producer_epoch;
            r.base_sequence = h.base_sequence;
            r.record_count = h.records_count;
            auto it = st.producers.find(h.producer_id);
            auto entry = it == st.producers.end() ? producer_entry{}
                                                  : producer_entry::decode(it->second);
            remember_batch(entry, r, h.base_offset);
            st.producers[h.producer_id] = entry.encode();
        }
    });
    st.objects.push_back(e);
    st.next = e.last + 1;
}

}  // namespace

std::string s3_engine::part_prefix(const topic_info& t, std::int32_t partition) const {
    return key("log/" + uuid_hex(t.id) + "/" + std::to_string(partition) + "/");
}

s3_engine::cached_state& s3_engine::state_slot(const topic_info& t, std::int32_t partition) {
    return *state_ptr(t, partition);
}

std::shared_ptr<s3_engine::cached_state> s3_engine::state_ptr(const topic_info& t,
                                                              std::int32_t partition) {
    auto& slot = states_[{uuid_hex(t.id), partition}];
    if (!slot) {
        slot = std::make_shared<cached_state>();
        slot->topic_id = t.id;
    }
    return slot;
}

void s3_engine::adopt(cached_state& c, partition_state doc, std::string etag) {
    const auto stored_next = doc.next;
    // Keep the chain this broker knows past the document's end (it exists in storage: it
    // was written or read here); the document only ever lags behind it.
    if (c.loaded && c.st.next > doc.next) {
        auto first = std::find_if(c.st.objects.begin(), c.st.objects.end(),
                                  [&](const object_entry& e) { return e.base >= doc.next; });
        if (first != c.st.objects.end() && first->base == doc.next &&
            c.st.objects.back().last + 1 == c.st.next) {
            doc.objects.insert(doc.objects.end(), first, c.st.objects.end());
            doc.next = c.st.next;
            // Every batch the document's producers saw is in the chain's history too.
            doc.producers = std::move(c.st.producers);
        }
    }
    c.st = std::move(doc);
    c.etag = std::move(etag);
    c.stored_next = stored_next;
    if (c.st.next <= c.stored_next) c.unsaved_since = {};
    c.loaded = true;
}

awaitable<s3_engine::cached_state*> s3_engine::refresh(const topic_info& t,
                                                        std::int32_t partition) {
    auto& c = state_slot(t, partition);
    const auto sent = std::chrono::steady_clock::now();
    auto op = client_->get(part_prefix(t, partition) + "state.json", {},
                           c.loaded ? c.etag : std::string());
    auto r = co_await std::move(op);
    if (r.status == 304) {
    } else if (r.status == 404) {
        adopt(c, partition_state{}, {});
    } else if (r.ok()) {
        adopt(c, decode_state(r.body), r.etag);
    } else {
        throw std::runtime_error("s3: GET watermark answered HTTP " + std::to_string(r.status));
    }
    c.read_at = std::chrono::steady_clock::now();
    // Keys past the document's `next` as read now can be freed only after a later swap
    // lists them, and then only delete_delay after that.
    c.known_at = std::max(c.known_at, sent);
    co_return &c;
}

awaitable<void> s3_engine::probe(const topic_info& t, std::int32_t partition, cached_state& c) {
    const auto prefix = part_prefix(t, partition);
    c.probed_at = std::chrono::steady_clock::now();
    for (int step = 0; step < 1000; ++step) {
        const auto at = c.st.next;
        const auto name = offset_name(at) + ".batch";
        auto op = client_->get(prefix + name);
        auto r = co_await std::move(op);
        if (r.status == 404) co_return;  // the end of the log
        if (!r.ok()) throw std::runtime_error("s3: GET object answered HTTP " + std::to_string(r.status));
        if (c.st.next != at) continue;  // extended meanwhile (another probe, an append)
        take_in(c, prefix, name, std::move(r.body));
    }
}

awaitable<s3_engine::cached_state*> s3_engine::latest(const topic_info& t,
                                                       std::int32_t partition) {
    auto op = refresh(t, partition);
    auto* c = co_await std::move(op);
    auto pop = probe(t, partition, *c);
    co_await std::move(pop);
    co_return c;
}

void s3_engine::take_in(cached_state& c, const std::string& prefix, const std::string& name,
                        std::string body) {
    fold_object(c.st, name, body);
    if (c.unsaved_since == std::chrono::steady_clock::time_point{})
        c.unsaved_since = std::chrono::steady_clock::now();
    cache_object(prefix + name, std::make_shared<const object_body>(object_body{{std::move(body)}}));
}

awaitable<void> s3_engine::catch_up(const topic_info& t, std::int32_t partition, cached_state& c) {
    auto cop = checkpoint(t, partition, c);
    co_await std::move(cop);
    auto pop = purge_retired(t, partition, c);
    co_await std::move(pop);
}

awaitable<void> s3_engine::checkpoint(const topic_info& t, std::int32_t partition,
                                      cached_state& c) {
    for (int attempt = 0; attempt < 20; ++attempt) {
        if (c.dropped || c.st.next <= c.stored_next) co_return;
        auto next = c.st;
        auto rop = maybe_roll(t, partition, next);
        co_await std::move(rop);
        auto sop = swap_state(t, partition, c, std::move(next));
        if (co_await std::move(sop)) co_return;
        auto op = refresh(t, partition);  // keeps our chain past what it finds
        co_await std::move(op);
    }
}

awaitable<void> s3_engine::background_checkpoint(topic_info t, std::int32_t partition) {
    auto held = state_ptr(t, partition);
    auto& c = *held;
    try {
        auto op = catch_up(t, partition, c);  // deletes that came due too (also for topics
        co_await std::move(op);               // the retention pass skips)
    } catch (const std::exception&) {
        // The objects are committed whatever happens here: the next checkpoint (or a
        // retention pass) stores them.
    }
    c.checkpointing = false;
}

awaitable<void> s3_engine::save_pending(std::chrono::milliseconds age) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<std::shared_ptr<cached_state>, std::int32_t>> due;
    const bool all = age.count() == 0;  // stopping
    for (auto& [k, c] : states_)
        if ((all || !c->checkpointing) && !c->dropped && c->st.next > c->stored_next &&
            (all || now - c->unsaved_since >= age))
            due.emplace_back(c, k.second);
    // One read of each topic per pass, not one per partition.
    std::map<std::string, std::optional<topic_info>> topics;
    for (auto& [held, partition] : due) {
        auto& c = *held;
        // Stopping: a checkpoint already running finishes first (then this one stores
        // whatever it left); otherwise that partition waits for the next pass.
        while (all && c.checkpointing) {
            asio::steady_timer wait(ex_, std::chrono::milliseconds(5));
            auto wop = wait.async_wait(asio::use_awaitable);
            co_await std::move(wop);
        }
        if (c.checkpointing || c.dropped || c.st.next <= c.stored_next) continue;
        c.checkpointing = true;
        try {
            // Only a topic that still exists: a document stored under a deleted topic's id
            // would be garbage nobody deletes.
            auto hex = uuid_hex(c.topic_id);
            if (!topics.count(hex)) {
                auto top = topic_by_id(c.topic_id, false);
                topics[hex] = co_await std::move(top);
            }
            const auto& t = topics[hex];
            if (t && t->partitions > partition) {
                // The writer may have stored it already (a reader's view ages from when it
                // followed the chain): a conditional GET first, not a swap bound to fail.
                auto rop = refresh(*t, partition);
                co_await std::move(rop);
                auto op = catch_up(*t, partition, c);
                co_await std::move(op);
            } else {
                c.dropped = true;
            }
        } catch (const std::exception&) {
            // As for a background checkpoint: the chain stays readable; the next pass retries.
        }
        c.checkpointing = false;
    }
}

awaitable<bool> s3_engine::swap_state(const topic_info& t, std::int32_t partition,
                                      cached_state& cur, partition_state next) {
    auto k = part_prefix(t, partition) + "state.json";
    auto body = encode_state(next);
    auto op = cur.etag.empty() ? client_->put(k, body, put_condition::if_none_match_any)
                               : client_->put(k, body, put_condition::if_match, cur.etag);
    auto r = co_await std::move(op);
    if (r.ok()) {
        adopt(cur, std::move(next), r.etag);
        cur.read_at = std::chrono::steady_clock::now();
        co_return true;
    }
    if (r.status != 412) throw std::runtime_error("s3: PUT watermark answered HTTP " +
                                                  std::to_string(r.status));
    if (r.ambiguous) {  // our earlier attempt may have landed: compare what is there
        auto gop = client_->get(k);
        auto g = co_await std::move(gop);
        if (g.ok() && g.body == body) {
            adopt(cur, std::move(next), g.etag);
            co_return true;
        }
    }
    co_return false;
}

awaitable<void> s3_engine::maybe_roll(const topic_info& t, std::int32_t partition,
                                      partition_state& st) {
    if (st.objects.size() <= opts_.index_roll) co_return;
    auto n = st.objects.size() / 2;
    std::vector<object_entry> moved(st.objects.begin(), st.objects.begin() + static_cast<long>(n));
    auto body = encode_segment(moved);
    // Named by range and content, so two writers rolling the same entries write one object.
    auto name = "index/" + offset_name(moved.front().base) + "-" + offset_name(moved.back().last) +
                "-" + sha256_hex(body).substr(0, 12) + ".json";
    auto op = client_->put(part_prefix(t, partition) + name, body);
    auto r = co_await std::move(op);
    if (!r.ok()) throw std::runtime_error("s3: PUT index segment answered HTTP " +
                                          std::to_string(r.status));
    segments_[name] = moved;
    st.segments.push_back({moved.front().base, moved.back().last, name});
    st.objects.erase(st.objects.begin(), st.objects.begin() + static_cast<long>(n));
}

awaitable<std::vector<object_entry>> s3_engine::segment_entries(const topic_info& t,
                                                                std::int32_t partition,
                                                                const segment_ref& seg) {
    if (auto it = segments_.find(seg.name); it != segments_.end()) co_return it->second;
    auto op = client_->get(part_prefix(t, partition) + seg.name);
    auto r = co_await std::move(op);
    if (!r.ok()) throw std::runtime_error("s3: GET index segment answered HTTP " +
                                          std::to_string(r.status));
    auto entries = decode_segment(r.body);
    segments_[seg.name] = entries;
    co_return entries;
}

awaitable<std::vector<object_entry>> s3_engine::all_entries(const topic_info& t,
                                                            std::int32_t partition,
                                                            const partition_state& st) {
    std::vector<object_entry> out;
    for (const auto& seg : st.segments) {
        if (seg.last < st.log_start) continue;
        auto op = segment_entries(t, partition, seg);
        for (auto& e : co_await std::move(op))
            if (e.last >= st.log_start) out.push_back(e);
    }
    for (const auto& e : st.objects)
        if (e.last >= st.log_start) out.push_back(e);
    co_return out;
}

void s3_engine::cache_object(const std::string& k, std::shared_ptr<const object_body> body) {
    if (body->size() > opts_.cache_bytes / 4) return;
    if (lru_index_.count(k)) return;
    lru_.emplace_back(k, body);
    lru_index_[k] = std::prev(lru_.end());
    lru_bytes_ += body->size();
    while (lru_bytes_ > opts_.cache_bytes && !lru_.empty()) {
        lru_bytes_ -= lru_.front().second->size();
        lru_index_.erase(lru_.front().first);
        lru_.pop_front();
    }
}

awaitable<std::shared_ptr<const object_body>> s3_engine::read_object(const topic_info& t,
                                                                     std::int32_t partition,
                                                                     const object_entry& e) {
    auto k = part_prefix(t, partition) + e.name;
    if (auto it = lru_index_.find(k); it != lru_index_.end()) {
        lru_.splice(lru_.end(), lru_, it->second);  // most recently used
        co_return it->second->second;
    }
    auto op = client_->get(k);
    auto r = co_await std::move(op);
    if (r.status == 404) co_return nullptr;  // deleted by retention meanwhile
    if (!r.ok()) throw std::runtime_error("s3: GET object answered HTTP " + std::to_string(r.status));
    auto body = std::make_shared<const object_body>(object_body{{std::move(r.body)}});
    cache_object(k, body);
    co_return body;
}

// --- append ---------------------------------------------------------------------------------

// The append is queued under the topic's name before anything suspends (the order
// contract of storage.h); the topic is resolved once per flush, not per append.
awaitable<append_result> s3_engine::append(append_request req) {
    auto topic = req.topic;
    auto partition = req.partition;
    auto op = appends_.append(
        {topic, partition}, std::move(req), ex_, {opts_.linger, opts_.max_object_bytes},
        [this, topic, partition](append_group& group) { return flush(topic, partition, group); },
        [this, topic, partition] { notify_change(topic, partition); });
    co_return co_await std::move(op);
}

awaitable<void> s3_engine::flush(const std::string& topic, std::int32_t partition,
                                 append_group& group) {
    auto rop = resolve_recent(topic, partition);
    auto t = co_await std::move(rop);
    if (!t) {
        for (auto& p : group) p->result = {error_code::unknown_topic_or_partition};
        co_return;
    }
    auto op = flush(*t, partition, group);
    co_await std::move(op);
}

awaitable<void> s3_engine::flush(const topic_info& t, std::int32_t partition,
                                 append_group& group) {
    auto& cur = state_slot(t, partition);
    // Re-read the document (a 304 when nobody else stored it meanwhile) unless our view is
    // recent: read within poll_ms, or (acknowledging early) our last object created then —
    // a busy writer never re-reads it; a write by another broker shows up as a 412.
    const auto now = std::chrono::steady_clock::now();
    if (!cur.loaded || (now - cur.read_at > opts_.poll &&
                        (opts_.delete_delay.count() == 0 || now - cur.known_at > opts_.poll))) {
        auto op = refresh(t, partition);
        co_await std::move(op);
    }
    const auto prefix = part_prefix(t, partition);
    for (int round = 0; round < 1000; ++round) {
        // Decide every batch against the watermark as we know it.
        auto st = cur.st;
        const auto base = st.next;
        std::vector<std::string_view> parts;  // the object: the batches, sent as they are
        std::size_t body_size = 0;
        std::uint32_t body_crc = 0;  // for x-amz-checksum-crc32c, from the batches' own CRCs
        std::int64_t max_ts = -1;
        std::vector<std::pair<pending_append*, std::int64_t>> placed;
        for (auto& p : group) {
            auto& req = p->req;
            if (req.producer_id >= 0) {
                auto it = st.producers.find(req.producer_id);
                std::optional<producer_entry> stored;
                if (it != st.producers.end()) stored = producer_entry::decode(it->second);
                auto verdict = check_sequence(stored, req);
                if (verdict.error != error_code::none) {
                    p->result = {verdict.error};
                    continue;
                }
                if (verdict.duplicate_of >= 0) {
                    p->result = {error_code::none, verdict.duplicate_of, st.log_start};
                    continue;
                }
                auto entry = stored.value_or(producer_entry{});
                remember_batch(entry, req, st.next);
                st.producers[req.producer_id] = entry.encode();
            }
            protocol::set_base_offset(req.batch, st.next);
            placed.emplace_back(p.get(), st.next);
            st.next += req.record_count;
            max_ts = std::max(max_ts, req.max_timestamp);
            parts.push_back(req.batch);
            body_crc = protocol::crc32c_combine(body_crc, protocol::whole_batch_crc32c(req.batch),
                                                req.batch.size());
            body_size += req.batch.size();
        }
        if (parts.empty()) co_return;  // duplicates and refusals only
        auto concat = [&] {
            std::string body;
            body.reserve(body_size);
            for (auto part : parts) body += part;
            return body;
        };
        const auto name = offset_name(base) + ".batch";
        const auto sent = std::chrono::steady_clock::now();
        auto pop = client_->put_parts(prefix + name, parts, put_condition::if_none_match_any, {},
                                      body_crc);
        auto r = co_await std::move(pop);
        bool ours = r.ok();
        std::string found;
        if (r.status == 412) {
            auto gop = client_->get(prefix + name);
            auto g = co_await std::move(gop);
            if (g.status == 404) {  // gone again (retention): the watermark has moved on
                auto op = refresh(t, partition);
                co_await std::move(op);
                continue;
            }
            if (!g.ok()) throw std::runtime_error("s3: GET object answered HTTP " + std::to_string(g.status));
            ours = r.ambiguous && g.body == concat();  // our own earlier attempt landed
            found = std::move(g.body);
        } else if (!r.ok()) {
            throw std::runtime_error("s3: PUT object answered HTTP " + std::to_string(r.status));
        }
        if (!ours) {
            // Someone else committed at `base` (and may have died before storing the
            // watermark): take its object into our view and decide our batches again past it.
            if (cur.st.next == base) take_in(cur, prefix, name, std::move(found));
            continue;
        }
        object_entry e{base, st.next - 1, max_ts, static_cast<std::int64_t>(body_size), name};
        // Our object, its batches and their producers' sequences, added to a partition view.
        auto add_ours = [&](partition_state& v) {
            v.objects.push_back(e);
            v.next = e.last + 1;
            for (auto& [p, off] : placed)
                if (p->req.producer_id >= 0) {
                    auto it = v.producers.find(p->req.producer_id);
                    auto entry = it == v.producers.end() ? producer_entry{}
                                                         : producer_entry::decode(it->second);
                    remember_batch(entry, p->req, off);
                    v.producers[p->req.producer_id] = entry.encode();
                }
        };
        bool committed = false;
        const auto done = std::chrono::steady_clock::now();
        if (opts_.delete_delay.count() > 0 && done - cur.known_at < opts_.delete_delay / 2 &&
            cur.st.next >= base) {
            // Committed at `base`: our view of the end was known at known_at, and no key
            // at or past it can have been freed since (deletes wait delete_delay). The
            // watermark document catches up at the next checkpoint; readers probe past it.
            if (cur.st.next == base) add_ours(cur.st);  // (past it: a probe here found it)
            if (cur.unsaved_since == std::chrono::steady_clock::time_point{}) cur.unsaved_since = done;
            cur.known_at = std::max(cur.known_at, sent);  // nobody could build on `base` before
            committed = true;
        }
        while (!committed) {
            if (cur.st.next < base) {
                // Our view was set back (a document that did not continue our chain):
                // catch up by following the chain, which reaches our object at `base`.
                auto pop = probe(t, partition, cur);
                co_await std::move(pop);
                if (cur.st.next < base) throw std::runtime_error("s3: the log ends before an object just written");
                continue;
            }
            if (cur.st.next > base) {
                // Past us: a helper folded our object in — or our view was stale and the
                // object once at `base` had been deleted (retention, DeleteRecords), so our
                // create-only PUT landed on an offset the log had already passed: an orphan
                // nobody will ever fold. Only our entry, by name, tells them apart.
                auto fop = lists_object(t, partition, cur.st, base, name);
                committed = co_await std::move(fop);
                break;
            }
            auto next = cur.st;
            add_ours(next);
            auto rop = maybe_roll(t, partition, next);
            co_await std::move(rop);
            auto sop = swap_state(t, partition, cur, std::move(next));
            if (co_await std::move(sop)) {
                committed = true;
                break;
            }
            auto op = refresh(t, partition);
            co_await std::move(op);
        }
        if (!committed) {
            // An orphan (or folded and already trimmed: then a retry may store a batch of a
            // non-idempotent producer twice, never lose it). Remove it and decide again.
            auto dop = delete_objects({prefix + name});
            co_await std::move(dop);
            continue;
        }
        // Cached for fetches on this broker as the batches themselves (the requests are
        // done with them): no copy into one string.
        object_body cached;
        for (auto& [p, off] : placed) {
            p->result = {error_code::none, off, cur.st.log_start};
            cached.pieces.push_back(std::move(p->req.batch));
        }
        cache_object(prefix + name, std::make_shared<const object_body>(std::move(cached)));
        // Now and then the watermark document catches up with the chain (the appends are
        // answered already: a failure here only leaves the chain to the next checkpoint).
        std::size_t unsaved = 0;
        for (auto it = cur.st.objects.rbegin(); it != cur.st.objects.rend() && it->base >= cur.stored_next; ++it)
            ++unsaved;
        const bool due_deletes = !cur.st.retired.empty() && cur.st.retired.front().due_ms <= wall_ms();
        if (!cur.checkpointing &&
            (due_deletes || unsaved >= opts_.checkpoint_objects ||
             (unsaved > 0 && std::chrono::steady_clock::now() - cur.unsaved_since >= opts_.checkpoint_interval))) {
            // In the background: the next object of this partition need not wait for it.
            cur.checkpointing = true;
            asio::co_spawn(ex_, background_checkpoint(t, partition), asio::detached);
        }
        co_return;
    }
    throw std::runtime_error("s3: could not append after 1000 rounds of contention");
}

awaitable<bool> s3_engine::lists_object(const topic_info& t, std::int32_t partition,
                                        const partition_state& st, std::int64_t base,
                                        const std::string& name) {
    if (base < st.log_start) co_return false;
    for (const auto& e : st.objects)
        if (e.base == base) co_return e.name == name;
    for (const auto& seg : st.segments)
        if (seg.first <= base && base <= seg.last) {
            auto op = segment_entries(t, partition, seg);
            for (const auto& e : co_await std::move(op))
                if (e.base == base) co_return e.name == name;
        }
    co_return false;
}

// --- reads ----------------------------------------------------------------------------------

awaitable<fetch_result> s3_engine::fetch(std::string_view topic, std::int32_t partition,
                                         std::int64_t offset, std::int32_t max_bytes, isolation) {
    fetch_result out;
    auto rop = resolve_recent(topic, partition);  // fetches come often: see describe_topic_recent
    auto t = co_await std::move(rop);
    if (!t) {
        out.error = error_code::unknown_topic_or_partition;
        co_return out;
    }
    auto* c = &state_slot(*t, partition);
    // Below the known end the index is known (objects never change). Past it, or at it
    // once poll_ms has passed, follow the chain (a 404 when nothing is new): this broker's
    // own appends are in its view already and wake the fetch themselves; other brokers'
    // are seen within poll_ms, as the broker's long poll re-reads that often. The
    // document itself is re-read (a 304 when unchanged) every poll_ms too, for what only
    // it says (the log start), so the high watermark a fetch reports is that fresh.
    const auto now = std::chrono::steady_clock::now();
    bool probe_too = offset > c->st.next || (offset == c->st.next && now - c->probed_at > opts_.poll);
    if (!c->loaded || offset < c->st.log_start || offset > c->st.next ||
        now - c->read_at > opts_.poll) {
        auto op = refresh(*t, partition);
        c = co_await std::move(op);
        probe_too = true;
    }
    if (probe_too) {
        auto pop = probe(*t, partition, *c);
        co_await std::move(pop);
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto st = c->st;
        out.high_watermark = out.last_stable = st.next;
        out.log_start = st.log_start;
        out.records.clear();
        if (offset < st.log_start || offset > st.next) {
            out.error = error_code::offset_out_of_range;
            co_return out;
        }
        bool gone = false;
        const auto limit = static_cast<std::size_t>(std::max(max_bytes, 0));
        auto add_from = [&](const object_body& body) {
            bool full = false;
            body.for_each_batch([&](const protocol::batch_header& h, std::string_view b) {
                if (full || h.last_offset() < offset || h.last_offset() < st.log_start) return;
                if (!out.records.empty() && out.records.size() + b.size() > limit) {
                    full = true;
                    return;
                }
                out.records.append(b.data(), b.size());
            });
            return !full;
        };
        std::vector<object_entry> entries;
        // Only the segments that can hold offsets >= `offset` are read.
        for (const auto& seg : st.segments) {
            if (seg.last < offset || seg.last < st.log_start) continue;
            auto op = segment_entries(*t, partition, seg);
            for (auto& e : co_await std::move(op)) entries.push_back(e);
        }
        for (const auto& e : st.objects) entries.push_back(e);
        for (const auto& e : entries) {
            if (e.last < offset || e.last < st.log_start) continue;
            auto op = read_object(*t, partition, e);
            auto body = co_await std::move(op);
            if (!body) {
                gone = true;
                break;
            }
            if (!add_from(*body)) break;
            if (!out.records.empty() && out.records.size() >= limit) break;
        }
        if (!gone) co_return out;
        auto op = latest(*t, partition);  // retention moved the log start under us
        c = co_await std::move(op);
    }
    co_return out;
}

awaitable<partition_offsets> s3_engine::offsets(std::string_view topic, std::int32_t partition) {
    auto rop = resolve(topic, partition);
    auto t = co_await std::move(rop);
    if (!t) co_return partition_offsets{error_code::unknown_topic_or_partition};
    auto op = latest(*t, partition);
    auto& c = *co_await std::move(op);
    co_return partition_offsets{error_code::none, c.st.log_start, c.st.next, c.st.next};
}

awaitable<timestamp_lookup> s3_engine::offset_for_timestamp(std::string_view topic,
                                                            std::int32_t partition,
                                                            std::int64_t ts) {
    auto rop = resolve(topic, partition);
    auto t = co_await std::move(rop);
    if (!t) co_return timestamp_lookup{error_code::unknown_topic_or_partition};
    auto op = latest(*t, partition);
    auto st = (co_await std::move(op))->st;
    auto eop = all_entries(*t, partition, st);
    for (const auto& e : co_await std::move(eop)) {
        if (e.max_timestamp < ts) continue;  // record timestamps, from the batch headers
        auto bop = read_object(*t, partition, e);
        auto body = co_await std::move(bop);
        if (!body) continue;
        std::optional<timestamp_lookup> hit;
        body->for_each_batch([&](const protocol::batch_header& h, std::string_view b) {
            if (hit || h.is_control() || h.max_timestamp < ts || h.last_offset() < st.log_start)
                return;
            for (const auto& r : protocol::decode_records(b, max_uncompressed)) {
                auto off = h.base_offset + r.offset_delta;
                auto rt = h.log_append_time() ? h.max_timestamp : h.base_timestamp + r.timestamp_delta;
                if (off >= st.log_start && rt >= ts) {
                    hit = timestamp_lookup{error_code::none, off, rt};
                    return;
                }
            }
        });
        if (hit) co_return *hit;
    }
    co_return timestamp_lookup{};
}

awaitable<timestamp_lookup> s3_engine::max_timestamp(std::string_view topic,
                                                     std::int32_t partition) {
    auto rop = resolve(topic, partition);
    auto t = co_await std::move(rop);
    if (!t) co_return timestamp_lookup{error_code::unknown_topic_or_partition};
    auto op = latest(*t, partition);
    auto st = (co_await std::move(op))->st;
    auto eop = all_entries(*t, partition, st);
    auto entries = co_await std::move(eop);
    std::int64_t top = -1;
    for (const auto& e : entries) top = std::max(top, e.max_timestamp);
    timestamp_lookup best;
    for (const auto& e : entries) {
        if (e.max_timestamp != top) continue;
        auto bop = read_object(*t, partition, e);
        auto body = co_await std::move(bop);
        if (!body) continue;
        body->for_each_batch([&](const protocol::batch_header& h, std::string_view b) {
            if (h.is_control() || h.last_offset() < st.log_start) return;
            auto [off, ts] = batches::max_timestamp_record(b);
            if (best.offset < 0 || ts > best.timestamp) best = {error_code::none, off, ts};
        });
        if (best.offset >= 0) break;  // the earliest object holding the newest timestamp
    }
    co_return best;
}

}  // namespace hako::storage::s3
