#include "storage/producer_state.h"

#include "protocol/wire.h"

namespace hako::storage {

namespace {
constexpr std::size_t kept_batches = 5;  // what Kafka (and producers with 5 in flight) use

std::int32_t last_seq(const append_request& r) {
    // sequences wrap from INT32_MAX to 0
    auto last = static_cast<std::int64_t>(r.base_sequence) + r.record_count - 1;
    return static_cast<std::int32_t>(last % (static_cast<std::int64_t>(INT32_MAX) + 1));
}

std::int32_t next_after(std::int32_t seq) { return seq == INT32_MAX ? 0 : seq + 1; }
}  // namespace

std::string producer_entry::encode() const {
    protocol::writer w;
    w.write_i8(1);  // format version
    w.write_i16(epoch);
    w.write_i8(static_cast<std::int8_t>(recent.size()));
    for (const auto& b : recent) {
        w.write_i32(b.first_sequence);
        w.write_i32(b.last_sequence);
        w.write_i64(b.base_offset);
    }
    return w.take();
}

producer_entry producer_entry::decode(std::string_view bytes) {
    protocol::reader r(bytes);
    if (r.read_i8() != 1) throw protocol::decode_error("unknown producer state format");
    producer_entry e;
    e.epoch = r.read_i16();
    auto n = r.read_i8();
    for (int i = 0; i < n; ++i) {
        batch_seq b{};
        b.first_sequence = r.read_i32();
        b.last_sequence = r.read_i32();
        b.base_offset = r.read_i64();
        e.recent.push_back(b);
    }
    return e;
}

sequence_verdict check_sequence(const std::optional<producer_entry>& stored,
                                const append_request& req) {
    using protocol::error_code;
    if (req.base_sequence < 0) return {error_code::invalid_record};
    if (!stored || req.producer_epoch > stored->epoch) {
        // a new producer, or a bumped epoch: sequences start again at 0
        if (req.base_sequence != 0) return {error_code::out_of_order_sequence_number};
        return {};
    }
    if (req.producer_epoch < stored->epoch) return {error_code::invalid_producer_epoch};
    auto last = last_seq(req);
    for (const auto& b : stored->recent)
        if (b.first_sequence == req.base_sequence && b.last_sequence == last)
            return {error_code::none, b.base_offset};  // a retry of an appended batch
    if (stored->recent.empty() ? req.base_sequence != 0
                               : req.base_sequence != next_after(stored->recent.back().last_sequence))
        return {error_code::out_of_order_sequence_number};
    return {};
}

void remember_batch(producer_entry& entry, const append_request& req, std::int64_t base_offset) {
    if (req.producer_epoch != entry.epoch) {
        entry.epoch = req.producer_epoch;
        entry.recent.clear();
    }
    entry.recent.push_back({req.base_sequence, last_seq(req), base_offset});
    while (entry.recent.size() > kept_batches) entry.recent.pop_front();
}

}  // namespace hako::storage
