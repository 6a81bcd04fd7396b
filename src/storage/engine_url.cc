// Engine selection by URL, and helpers shared by the engines.
#include <random>
#include <stdexcept>

#include "protocol/record_batch.h"
#include "storage/memory/memory_engine.h"
#include "storage/postgres/pg_engine.h"
#include "storage/s3/s3_engine.h"
#include "storage/sqlite/sqlite_engine.h"
#include "storage/storage.h"

namespace hako::storage {

std::unique_ptr<engine> open_engine(std::string_view url, boost::asio::any_io_executor ex) {
    auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos)
        throw std::invalid_argument("storage URL '" + std::string(url) +
                                    "' has no scheme; use memory://, sqlite://, postgres:// or s3://");
    auto scheme = url.substr(0, scheme_end);
    if (scheme == "memory") return make_memory_engine(std::move(ex));
    if (scheme == "sqlite")
        return std::make_unique<sqlite::sqlite_engine>(sqlite::parse_url(url), std::move(ex));
    if (scheme == "postgres" || scheme == "postgresql")
        return std::make_unique<postgres::pg_engine>(postgres::parse_url(url), std::move(ex));
    if (scheme == "s3") return s3::make_s3_engine(url, std::move(ex));
    throw std::invalid_argument("unknown storage engine '" + std::string(scheme) +
                                "://'; use memory://, sqlite://, postgres:// or s3://");
}

protocol::uuid random_uuid() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    protocol::uuid u;
    for (std::size_t i = 0; i < 16; i += 8) {
        auto v = rng();
        for (std::size_t j = 0; j < 8; ++j) u[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
    u[6] = static_cast<std::uint8_t>((u[6] & 0x0f) | 0x40);  // version 4
    u[8] = static_cast<std::uint8_t>((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return u;
}

namespace batches {

namespace {
constexpr std::size_t max_uncompressed = 256u << 20;

std::int64_t record_ts(const protocol::batch_header& h, const protocol::record& r) {
    return h.log_append_time() ? h.max_timestamp : h.base_timestamp + r.timestamp_delta;
}
}  // namespace

std::optional<std::pair<std::int64_t, std::int64_t>> find_timestamp(std::string_view batch,
                                                                    std::int64_t ts) {
    auto h = protocol::read_batch_header(batch);
    if (h.is_control() || h.max_timestamp < ts) return std::nullopt;
    for (const auto& r : protocol::decode_records(batch, max_uncompressed)) {
        auto t = record_ts(h, r);
        if (t >= ts) return std::pair{h.base_offset + r.offset_delta, t};
    }
    return std::nullopt;
}

std::pair<std::int64_t, std::int64_t> max_timestamp_record(std::string_view batch) {
    auto h = protocol::read_batch_header(batch);
    std::pair<std::int64_t, std::int64_t> best{h.base_offset, -1};
    if (h.is_control()) return best;
    for (const auto& r : protocol::decode_records(batch, max_uncompressed)) {
        auto t = record_ts(h, r);
        if (t > best.second) best = {h.base_offset + r.offset_delta, t};
    }
    return best;
}

kept_batch filter_batch(std::string_view batch,
                        const std::function<bool(std::int64_t, std::int64_t,
                                                 const protocol::record&)>& keep) {
    auto h = protocol::read_batch_header(batch);
    auto records = protocol::decode_records(batch, max_uncompressed);
    std::vector<protocol::record> kept;
    for (auto& r : records)
        if (keep(h.base_offset + r.offset_delta, record_ts(h, r), r)) kept.push_back(std::move(r));
    if (kept.size() == records.size()) return {std::string(batch), false};
    if (kept.empty()) return {std::nullopt, true};
    protocol::batch_builder_options o;
    o.base_offset = h.base_offset;
    o.partition_leader_epoch = h.partition_leader_epoch;
    o.base_timestamp = h.base_timestamp;
    o.max_timestamp = h.max_timestamp;
    o.last_offset_delta = h.last_offset_delta;
    o.producer_id = h.producer_id;
    o.producer_epoch = h.producer_epoch;
    o.base_sequence = h.base_sequence;
    o.transactional = h.is_transactional();
    o.control = h.is_control();
    o.log_append_time = h.log_append_time();
    return {protocol::build_batch(o, kept), true};
}

}  // namespace batches
}  // namespace hako::storage
