#pragma once
// The broker: turns one request frame into one response frame. It owns no durable state;
// everything that must survive goes through storage::engine. The network layer calls
// `handle` for each frame of a connection in order; a handler may let the next frame
// start before it finishes (request_context::mark_ordered).
//
// Threading: one io_context thread. Handlers are coroutines on that executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include "broker/group/coordinator.h"
#include "broker/group/settings.h"
#include "broker/log_waiters.h"
#include "protocol/header.h"
#include "protocol/wire.h"
#include "storage/storage.h"

namespace hako::broker {

using boost::asio::awaitable;

struct config {
    std::string listener_host = "0.0.0.0";
    std::uint16_t listener_port = 9092;
    std::string advertised_host = "localhost";
    std::int32_t advertised_port = 9092;
    std::int32_t node_id = 0;
    std::string cluster_id = "hako";
    bool auto_create_topics = true;
    std::int32_t default_partitions = 1;
    std::int32_t max_request_bytes = 100 * 1024 * 1024;
    // Produce requests of one connection handled at once hold at most this many bytes
    // (net/server.cc); 0: one request at a time.
    std::int64_t max_inflight_bytes = 64 * 1024 * 1024;
    std::int32_t max_fetch_wait_ms = 30000;
    std::int64_t lease_ms = 10000;  // a broker silent this long drops out of Metadata
    std::int64_t maintenance_interval_ms = 30000;  // retention and compaction passes
    group::settings groups;  // consumer group coordinator
};

// State of one client connection that handlers may read or change.
struct connection_state {
    std::string peer;
};

class broker;

// A response ready for the socket: `head` holds the size prefix and the response header,
// `body` the encoded body, so large fetch bodies are never copied to prepend a header.
struct response_frame {
    std::string head;
    std::string body;
};

struct request_context {
    broker& b;
    const protocol::request_header& header;
    connection_state& conn;
    // Lets the connection start its next request (see net/server.cc): a handler calls
    // mark_ordered() once what must follow the order of requests is done (Produce: its
    // appends are queued); otherwise it happens when the handler returns.
    std::function<void()> ordered = {};
    std::int16_t version() const { return header.api_version; }
    void mark_ordered() {
        if (!ordered) return;
        auto f = std::move(ordered);
        ordered = nullptr;
        f();
    }
};

// A handler decodes the request body and returns the encoded response body, or nullopt
// when the request gets no response (produce with acks=0).
using handler_fn = awaitable<std::optional<std::string>> (*)(request_context&, protocol::reader&);

struct handler_entry {
    std::int16_t api_key;
    std::int16_t min_version;  // advertised range; must lie within the codec's range
    std::int16_t max_version;
    handler_fn fn;
};

// Every API the broker serves end to end, and nothing else (handler_table.cc).
std::span<const handler_entry> handlers();
const handler_entry* find_handler(std::int16_t api_key);

class broker {
public:
    broker(config cfg, std::unique_ptr<storage::engine> engine, boost::asio::any_io_executor ex);

    // Registers this broker with storage. Call once before serving.
    awaitable<void> start();
    // Renews the registration lease until stop(), then gives it up.
    awaitable<void> keep_lease();
    // Applies retention and compaction to every partition, every maintenance interval,
    // until stop(). Safe on every broker at once: each pass is idempotent.
    awaitable<void> maintenance_loop();
    // One pass; returns the number of partitions maintained.
    awaitable<int> maintain_once();
    // Every storage save_interval(), records what the engine has held back that long
    // (s3: idle partitions' chains); at stop(), everything. See storage::engine::save_pending.
    awaitable<void> save_loop();
    void stop() {
        stopping_ = true;
        lease_timer_.cancel();
        maintenance_timer_.cancel();
        save_timer_.cancel();
        groups_->stop();
    }
    bool stopping() const { return stopping_; }

    // Handles one frame (header + body, without the size prefix). Returns the response
    // frame (header + body) or nullopt for no response. Throws protocol::decode_error (or
    // closes via connection_error) when the connection must be closed.
    // `ordered` is called when the next request on the connection may start. `frame`
    // holds `size` bytes; produced batches go to storage as slices of it.
    awaitable<std::optional<response_frame>> handle(std::shared_ptr<char[]> frame,
                                                    std::size_t size,
                                                    connection_state& conn,
                                                    std::function<void()> ordered = {});

    const config& cfg() const { return cfg_; }
    storage::engine& store() { return *engine_; }
    log_waiters& waiters() { return waiters_; }
    // The consumer group coordinator; run `groups().run()` for its sweeps until stop().
    group::coordinator& groups() { return *groups_; }
    boost::asio::any_io_executor executor() const { return ex_; }

private:
    config cfg_;
    std::unique_ptr<storage::engine> engine_;
    boost::asio::any_io_executor ex_;
    log_waiters waiters_;
    std::unique_ptr<group::coordinator> groups_;
    boost::asio::steady_timer lease_timer_{ex_};
    boost::asio::steady_timer maintenance_timer_{ex_};
    boost::asio::steady_timer save_timer_{ex_};
    bool stopping_ = false;
};

// Thrown by a handler when Kafka would close the connection (unknown API, unsupported
// version) instead of answering.
struct connection_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace hako::broker
