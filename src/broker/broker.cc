#include "broker/broker.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/core.h>

#include "hako/protocol/messages/api_table.h"
#include "hako/protocol/messages/api_versions.h"
#include "protocol/error_code.h"
#include "broker/topic_config.h"

namespace hako::broker {

broker::broker(config cfg, std::unique_ptr<storage::engine> engine,
               boost::asio::any_io_executor ex)
    : cfg_(std::move(cfg)),
      engine_(std::move(engine)),
      ex_(std::move(ex)),
      groups_(std::make_unique<group::coordinator>(*engine_, cfg_.groups, ex_)) {
    engine_->set_change_listener([this](const std::string& topic, std::int32_t partition) {
        waiters_.notify(topic, partition);
    });
}

awaitable<void> broker::start() {
    storage::broker_info self{cfg_.node_id, cfg_.advertised_host, cfg_.advertised_port, {}};
    co_await engine_->register_broker(self, cfg_.lease_ms);
}

awaitable<void> broker::keep_lease() {
    // Renew well before expiry so one slow renewal does not drop us from Metadata.
    storage::broker_info self{cfg_.node_id, cfg_.advertised_host, cfg_.advertised_port, {}};
    auto& timer = lease_timer_;
    while (!stopping_) {
        timer.expires_after(std::chrono::milliseconds(cfg_.lease_ms / 3));
        boost::system::error_code ec;
        co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        if (stopping_) break;
        try {
            co_await engine_->register_broker(self, cfg_.lease_ms);
        } catch (const std::exception& e) {
            fmt::print(stderr, "hako: lease renewal failed: {}\n", e.what());
        }
    }
    // Leaving cleanly: give up the lease so Metadata stops listing us at once.
    try {
        co_await engine_->register_broker(self, 0);
    } catch (const std::exception&) {
    }
}

awaitable<int> broker::maintain_once() {
    int n = 0;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    for (const auto& t : co_await engine_->list_topics()) {
        auto policy_text = effective_config(t.configs, "cleanup.policy");
        storage::retention_policy pol;
        pol.now_ms = now;
        if (policy_text.find("delete") != std::string::npos) {
            pol.retention_ms = effective_config_int(t.configs, "retention.ms");
            pol.retention_bytes = effective_config_int(t.configs, "retention.bytes");
        }
        pol.compact = policy_text.find("compact") != std::string::npos;
        pol.delete_retention_ms = effective_config_int(t.configs, "delete.retention.ms");
        pol.min_compaction_lag_ms = effective_config_int(t.configs, "min.compaction.lag.ms");
        if (pol.retention_ms < 0 && pol.retention_bytes < 0 && !pol.compact) continue;
        for (std::int32_t p = 0; p < t.partitions; ++p) {
            co_await engine_->maintain(t.name, p, pol);
            ++n;
        }
    }
    co_return n;
}

awaitable<void> broker::maintenance_loop() {
    while (!stopping_) {
        maintenance_timer_.expires_after(std::chrono::milliseconds(cfg_.maintenance_interval_ms));
        boost::system::error_code ec;
        co_await maintenance_timer_.async_wait(
            boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        if (stopping_) break;
        try {
            co_await maintain_once();
        } catch (const std::exception& e) {
            fmt::print(stderr, "hako: maintenance pass failed: {}\n", e.what());
        }
    }
}

awaitable<void> broker::save_loop() {
    const auto every = engine_->save_interval();
    while (every.count() > 0 && !stopping_) {
        save_timer_.expires_after(every);
        boost::system::error_code ec;
        co_await save_timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        if (stopping_) break;
        try {
            co_await engine_->save_pending(every);
        } catch (const std::exception& e) {
            fmt::print(stderr, "hako: saving pending state failed: {}\n", e.what());
        }
    }
    // Stopping: record everything, so whoever reads these partitions next starts from
    // storage's own record instead of retracing this broker's writes.
    try {
        co_await engine_->save_pending(std::chrono::milliseconds(0));
    } catch (const std::exception& e) {
        fmt::print(stderr, "hako: saving pending state at stop failed: {}\n", e.what());
    }
}

namespace {

response_frame make_frame(std::int32_t correlation_id, bool flexible_header, std::string body) {
    protocol::writer w;
    w.write_i32(0);  // size, patched below
    protocol::write_response_header(w, correlation_id, flexible_header);
    auto head = w.take();
    auto size = static_cast<std::uint32_t>(head.size() - 4 + body.size());
    for (int i = 0; i < 4; ++i) head[static_cast<std::size_t>(i)] = static_cast<char>(size >> (24 - 8 * i));
    return {std::move(head), std::move(body)};
}

// KIP-511: an ApiVersions version we do not know gets a v0-format body with
// UNSUPPORTED_VERSION and our own ApiVersions range, so the client can retry.
response_frame api_versions_fallback(std::int32_t correlation_id, std::int16_t max_version) {
    protocol::api_versions::response resp;
    resp.error_code = static_cast<std::int16_t>(protocol::error_code::unsupported_version);
    resp.api_keys.push_back({protocol::api_versions::api_key, 0, max_version, {}});
    protocol::writer w;
    resp.encode(w, 0);
    return make_frame(correlation_id, false, w.take());
}

}  // namespace

awaitable<std::optional<response_frame>> broker::handle(std::shared_ptr<char[]> frame_bytes,
                                                        std::size_t size,
                                                        connection_state& conn,
                                                        std::function<void()> ordered) {
    const std::string_view frame(frame_bytes.get(), size);
    auto prefix = protocol::peek_request_prefix(frame);
    const auto* h = find_handler(prefix.api_key);
    const auto* api = protocol::find_api(prefix.api_key);
    if (prefix.api_key == protocol::api_versions::api_key && h &&
        (prefix.api_version > h->max_version || prefix.api_version < 0))
        co_return api_versions_fallback(prefix.correlation_id, h->max_version);
    if (!h || !api)
        throw connection_error("unsupported api key " + std::to_string(prefix.api_key));
    if (prefix.api_version < h->min_version || prefix.api_version > h->max_version)
        throw connection_error("unsupported version " + std::to_string(prefix.api_version) +
                               " of api key " + std::to_string(prefix.api_key));

    const bool flexible = api->is_flexible(prefix.api_version);
    protocol::reader r(std::move(frame_bytes), size);  // batches become slices of the frame
    protocol::request_header header;
    header.decode(r, flexible);
    request_context ctx{*this, header, conn, std::move(ordered)};
    auto body = co_await h->fn(ctx, r);
    if (!body) co_return std::nullopt;
    // The ApiVersions response header is always v0 (KIP-511).
    bool flexible_response = flexible && prefix.api_key != protocol::api_versions::api_key;
    co_return make_frame(header.correlation_id, flexible_response, std::move(*body));
}

}  // namespace hako::broker
