// s3:// engine behaviour the generic conformance suite cannot reach: a writer that died
// between committing its object and storing the watermark is finished by the next writer
// (offsets stay dense, a retried idempotent batch is recognised) and found by readers
// meanwhile; writes are acknowledged before the watermark is stored and other brokers
// read them; deleted objects wait out their delay; the object index rolls into immutable
// segments and fetch still finds every offset.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "protocol/record_batch.h"
#include "s3_test_server.h"
#include "storage/s3/s3_engine.h"
#include "storage/s3/s3_layout.h"

namespace hako::storage::s3 {
namespace {

namespace asio = boost::asio;

std::string batch(int n, const std::string& prefix, std::int64_t pid = -1, std::int32_t seq = -1) {
    std::vector<protocol::record> rs;
    for (int i = 0; i < n; ++i) {
        protocol::record r;
        r.offset_delta = i;
        r.key = prefix + std::to_string(i);
        r.value = prefix + "-value-" + std::to_string(i);
        rs.push_back(std::move(r));
    }
    protocol::batch_builder_options o;
    o.base_timestamp = 1000;
    o.producer_id = pid;
    o.producer_epoch = pid >= 0 ? 0 : -1;
    o.base_sequence = seq;
    return protocol::build_batch(o, rs);
}

append_request request(const std::string& topic, std::string b) {
    auto h = protocol::read_batch_header(b);
    append_request req;
    req.topic = topic;
    req.record_count = h.records_count;
    req.max_timestamp = h.max_timestamp;
    req.producer_id = h.producer_id;
    req.producer_epoch = h.producer_epoch;
    req.base_sequence = h.base_sequence;
    req.batch = std::move(b);
    return req;
}

class S3Engine : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why;
        if (testing::s3_test_endpoint(&why).empty()) GTEST_SKIP() << why;
        prefix_ = "engine-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++);
    }
    std::unique_ptr<s3_engine> open(const std::string& params = "") {
        auto e = make_s3_engine("s3://engine-tests/" + prefix_ + "?create_bucket=true" + params,
                                io_.get_executor());
        return std::unique_ptr<s3_engine>(static_cast<s3_engine*>(e.release()));
    }
    template <class T>
    T run(asio::awaitable<T> a) {
        auto fut = asio::co_spawn(io_, std::move(a), asio::use_future);
        io_.restart();
        io_.run();
        return fut.get();
    }
    std::vector<std::int64_t> base_offsets(s3_engine& e, const std::string& topic) {
        auto f = run(e.fetch(topic, 0, 0, 1 << 30, isolation::read_uncommitted));
        std::vector<std::int64_t> out;
        for (auto b : protocol::split_batches(f.records, false))
            out.push_back(protocol::read_batch_header(b).base_offset);
        return out;
    }
    asio::io_context io_;
    std::string prefix_;
    static inline int counter_ = 0;
};

TEST_F(S3Engine, AnObjectCommittedWithoutItsWatermarkIsHelpedIn) {
    auto e = open();
    topic_info t{"helped", {}, 1, {}};
    ASSERT_EQ(run(e->create_topic(t)), error_code::none);
    ASSERT_EQ(run(e->append(request("helped", batch(3, "a")))).base_offset, 0);
    // A writer on another broker commits offsets 3..4 (object PUT at the watermark's next)
    // and dies before swapping the watermark; its producer (id 77) was never answered.
    auto orphan = batch(2, "orphan", 77, 0);
    protocol::set_base_offset(orphan, 3);
    auto dir = "log/" + uuid_hex(t.id) + "/0/";
    auto put = run(e->s3().put(e->key(dir + offset_name(3) + ".batch"), orphan));
    ASSERT_EQ(put.status, 200);
    // Readers find it past the watermark: the writer may have acknowledged it.
    EXPECT_EQ(run(e->offsets("helped", 0)).high_watermark, 5);

    // A fresh broker appends: it finds offset 3 taken, folds that object in, and lands after.
    auto b = open();
    auto r = run(b->append(request("helped", batch(1, "b"))));
    EXPECT_EQ(r.error, error_code::none);
    EXPECT_EQ(r.base_offset, 5);
    EXPECT_EQ(run(e->offsets("helped", 0)).high_watermark, 6);
    EXPECT_EQ(base_offsets(*e, "helped"), (std::vector<std::int64_t>{0, 3, 5}));
    // The dead writer's producer retries through this broker: recognised, not appended.
    auto retry = run(b->append(request("helped", batch(2, "orphan", 77, 0))));
    EXPECT_EQ(retry.error, error_code::none);
    EXPECT_EQ(retry.base_offset, 3);
    EXPECT_EQ(run(e->offsets("helped", 0)).high_watermark, 6);
}

TEST_F(S3Engine, TheIndexRollsIntoSegmentsAndFetchFindsEveryOffset) {
    auto e = open("&index_roll=4&checkpoint_objects=1");  // the watermark stored per object
    topic_info t{"rolled", {}, 1, {}};
    ASSERT_EQ(run(e->create_topic(t)), error_code::none);
    for (int i = 0; i < 20; ++i)
        ASSERT_EQ(run(e->append(request("rolled", batch(2, "r" + std::to_string(i))))).base_offset, 2 * i);
    auto dir = "log/" + uuid_hex(t.id) + "/0/";
    auto doc = run(e->s3().get(e->key(dir + "state.json")));
    auto st = decode_state(doc.body);
    EXPECT_LE(st.objects.size(), 4u);
    EXPECT_GE(st.segments.size(), 3u);
    // A second broker (empty caches) reads through the segments.
    auto b = open("&delete_delay_ms=0");
    for (std::int64_t off = 0; off < 40; off += 7) {
        auto f = run(b->fetch("rolled", 0, off, 1, isolation::read_uncommitted));
        ASSERT_EQ(f.error, error_code::none);
        auto h = protocol::read_batch_header(f.records);
        EXPECT_LE(h.base_offset, off);
        EXPECT_GE(h.last_offset(), off);
    }
    std::vector<std::int64_t> want;
    for (int i = 0; i < 20; ++i) want.push_back(2 * i);
    EXPECT_EQ(base_offsets(*b, "rolled"), want);
    // Retention through segments: the log start moves and old objects go.
    auto d = run(b->delete_records("rolled", 0, 21));
    EXPECT_EQ(d.log_start, 21);
    auto f = run(e->fetch("rolled", 0, 21, 1 << 20, isolation::read_uncommitted));
    EXPECT_EQ(protocol::read_batch_header(f.records).base_offset, 20);
    auto listed = run(e->s3().list(e->key(dir)));
    for (const auto& o : listed.entries)
        EXPECT_FALSE(o.key.ends_with(offset_name(0) + ".batch")) << "deleted object still there";
}

// With delete_delay_ms=0 objects go at once, and a writer acknowledges only once the
// watermark lists its object (the verification path).
TEST_F(S3Engine, AStaleWriterWhoseOffsetWasDeletedLandsAtTheRealEnd) {
    auto a = open("&poll_ms=600000&delete_delay_ms=0");  // A trusts its cached watermark throughout
    topic_info t{"stale", {}, 1, {}};
    ASSERT_EQ(run(a->create_topic(t)), error_code::none);
    ASSERT_EQ(run(a->append(request("stale", batch(1, "a")))).base_offset, 0);  // A: next = 1
    // Broker B writes on and DeleteRecords removes the objects at 0..3, the one at 1 included.
    auto b = open("&delete_delay_ms=0&poll_ms=1");  // B's reads see A's writes at once
    for (int i = 0; i < 3; ++i) ASSERT_EQ(run(b->append(request("stale", batch(1, "b")))).error, error_code::none);
    ASSERT_EQ(run(b->delete_records("stale", 0, 4)).log_start, 4);
    // A still believes next = 1: its create-only PUT at 1 succeeds on a passed offset. The
    // write must not be acknowledged there (unreachable) but at the real end.
    auto r = run(a->append(request("stale", batch(2, "late"))));
    ASSERT_EQ(r.error, error_code::none);
    EXPECT_EQ(r.base_offset, 4);
    auto f = run(b->fetch("stale", 0, 4, 1 << 20, isolation::read_uncommitted));
    ASSERT_EQ(f.error, error_code::none);
    EXPECT_EQ(f.high_watermark, 6);
    auto recs = protocol::decode_records(f.records, 1 << 20);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].key, "late0");
    auto dir = "log/" + uuid_hex(t.id) + "/0/";
    EXPECT_EQ(run(a->s3().get(a->key(dir + offset_name(1) + ".batch"))).status, 404) << "orphan left behind";
}

// With the default delay the deleted objects are still there when the stale writer comes:
// its PUT at 1 finds the key taken, and it walks the chain to the real end.
TEST_F(S3Engine, DeletedObjectsWaitOutTheirDelayAndAStaleWriterWalksPastThem) {
    auto a = open("&poll_ms=600000");
    topic_info t{"delayed", {}, 1, {}};
    ASSERT_EQ(run(a->create_topic(t)), error_code::none);
    ASSERT_EQ(run(a->append(request("delayed", batch(1, "a")))).base_offset, 0);
    auto b = open("&delete_delay_ms=1500&poll_ms=1");
    for (int i = 0; i < 3; ++i) ASSERT_EQ(run(b->append(request("delayed", batch(1, "b")))).error, error_code::none);
    ASSERT_EQ(run(b->delete_records("delayed", 0, 4)).log_start, 4);
    auto dir = "log/" + uuid_hex(t.id) + "/0/";
    auto doc = decode_state(run(b->s3().get(b->key(dir + "state.json"))).body);
    EXPECT_EQ(doc.log_start, 4);
    EXPECT_EQ(doc.retired.size(), 4u) << "objects 0..3 wait for their delay";
    EXPECT_EQ(run(b->s3().get(b->key(dir + offset_name(1) + ".batch"))).status, 200);
    auto r = run(a->append(request("delayed", batch(2, "late"))));
    ASSERT_EQ(r.error, error_code::none);
    EXPECT_EQ(r.base_offset, 4);
    auto f = run(b->fetch("delayed", 0, 4, 1 << 20, isolation::read_uncommitted));
    ASSERT_EQ(f.error, error_code::none);
    EXPECT_EQ(f.high_watermark, 6);
    EXPECT_EQ(run(b->fetch("delayed", 0, 1, 1 << 20, isolation::read_uncommitted)).error,
              error_code::offset_out_of_range);
    // Once the delay has passed, the next maintenance pass deletes them.
    std::this_thread::sleep_for(std::chrono::milliseconds(1600));
    retention_policy none;
    EXPECT_EQ(run(b->maintain("delayed", 0, none)).log_start, 4);
    for (int off = 0; off < 4; ++off)
        EXPECT_EQ(run(b->s3().get(b->key(dir + offset_name(off) + ".batch"))).status, 404) << off;
    doc = decode_state(run(b->s3().get(b->key(dir + "state.json"))).body);
    EXPECT_TRUE(doc.retired.empty());
    EXPECT_EQ(doc.next, 6) << "the pass also stored the chain A left unsaved";
}

// Retention run by one broker over objects another broker wrote and has not stored yet:
// the log start moves into the chain, the writer (whose view still has the old start)
// goes on appending at the end, and readers see dense offsets from the new start.
TEST_F(S3Engine, RetentionOnAnotherBrokerWhileTheWriterGoesOn) {
    auto a = open("&checkpoint_objects=1000&checkpoint_ms=600000");
    topic_info t{"kept", {}, 1, {}};
    ASSERT_EQ(run(a->create_topic(t)), error_code::none);
    for (int i = 0; i < 6; ++i)
        ASSERT_EQ(run(a->append(request("kept", batch(1, "a" + std::to_string(i))))).base_offset, i);
    auto b = open("&poll_ms=1");  // its reads look past what it knows every time
    retention_policy keep_two;
    keep_two.retention_bytes = 2 * static_cast<std::int64_t>(batch(1, "a0").size());
    auto o = run(b->maintain("kept", 0, keep_two));
    EXPECT_EQ(o.log_start, 4);
    EXPECT_EQ(o.high_watermark, 6);
    for (int i = 6; i < 9; ++i)
        ASSERT_EQ(run(a->append(request("kept", batch(1, "a" + std::to_string(i))))).base_offset, i);
    EXPECT_EQ(base_offsets(*b, "kept").size(), 0u) << "fetch at 0 is below the log start";
    auto f = run(b->fetch("kept", 0, 4, 1 << 20, isolation::read_uncommitted));
    ASSERT_EQ(f.error, error_code::none);
    EXPECT_EQ(f.log_start, 4);
    EXPECT_EQ(f.high_watermark, 9);
    std::vector<std::int64_t> got;
    for (auto bv : protocol::split_batches(f.records, false))
        got.push_back(protocol::read_batch_header(bv).base_offset);
    EXPECT_EQ(got, (std::vector<std::int64_t>{4, 5, 6, 7, 8}));
}

// Another broker stores part of a writer's chain in the document (its retention pass
// checkpoints what it found); the writer, re-reading that document, keeps the rest of its
// chain, and its next checkpoint stores everything.
TEST_F(S3Engine, AWriterKeepsItsChainWhenAnotherBrokerStoresPartOfIt) {
    auto a = open("&checkpoint_objects=1000&checkpoint_ms=600000&poll_ms=1");
    topic_info t{"partly", {}, 1, {}};
    ASSERT_EQ(run(a->create_topic(t)), error_code::none);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(run(a->append(request("partly", batch(1, "a")))).base_offset, i);
    auto b = open();
    retention_policy none;
    EXPECT_EQ(run(b->maintain("partly", 0, none)).high_watermark, 3);  // stores 0..2
    auto dir = "log/" + uuid_hex(t.id) + "/0/";
    EXPECT_EQ(decode_state(run(a->s3().get(a->key(dir + "state.json"))).body).next, 3);
    for (int i = 3; i < 5; ++i) ASSERT_EQ(run(a->append(request("partly", batch(1, "a")))).base_offset, i);
    // A re-reads the document (poll_ms=1): next = 3 there, 5 in its view.
    EXPECT_EQ(run(a->offsets("partly", 0)).high_watermark, 5);
    EXPECT_EQ(run(a->append(request("partly", batch(1, "a")))).base_offset, 5);
    EXPECT_EQ(run(a->maintain("partly", 0, none)).high_watermark, 6);  // stores 3..5
    auto doc = decode_state(run(a->s3().get(a->key(dir + "state.json"))).body);
    EXPECT_EQ(doc.next, 6);
    ASSERT_EQ(doc.objects.size(), 6u);
    for (std::int64_t i = 0; i < 6; ++i) EXPECT_EQ(doc.objects[static_cast<std::size_t>(i)].base, i);
    auto c = open();
    EXPECT_EQ(base_offsets(*c, "partly"), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
}

// A write is acknowledged once its object is created; the watermark document is stored
// later (every checkpoint_objects objects or checkpoint_ms). Another broker reads the
// acknowledged records meanwhile, and appends after them.
TEST_F(S3Engine, AcknowledgedWritesAreReadBeforeTheWatermarkIsStored) {
    auto a = open("&checkpoint_objects=1000&checkpoint_ms=600000");
    topic_info t{"lazy", {}, 1, {}};
    ASSERT_EQ(run(a->create_topic(t)), error_code::none);
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(run(a->append(request("lazy", batch(2, "a" + std::to_string(i), 9, 2 * i)))).base_offset, 2 * i);
    auto dir = "log/" + uuid_hex(t.id) + "/0/";
    EXPECT_EQ(run(a->s3().get(a->key(dir + "state.json"))).status, 404) << "not stored yet";
    auto b = open();
    EXPECT_EQ(run(b->offsets("lazy", 0)).high_watermark, 6);
    EXPECT_EQ(base_offsets(*b, "lazy"), (std::vector<std::int64_t>{0, 2, 4}));
    // B knows producer 9's sequences from the objects alone: its retry is a duplicate.
    auto dup = run(b->append(request("lazy", batch(2, "a2", 9, 4))));
    EXPECT_EQ(dup.error, error_code::none);
    EXPECT_EQ(dup.base_offset, 4);
    EXPECT_EQ(run(b->append(request("lazy", batch(1, "b")))).base_offset, 6);
    EXPECT_EQ(run(a->offsets("lazy", 0)).high_watermark, 7);
    // A writes on past B's object (its PUT at 6 finds the key taken).
    EXPECT_EQ(run(a->append(request("lazy", batch(1, "a3")))).base_offset, 7);
    EXPECT_EQ(base_offsets(*a, "lazy"), (std::vector<std::int64_t>{0, 2, 4, 6, 7}));
}

// What the broker's save loop asks for: an idle partition's chain stored once it is old
// enough, everything at stop, and nothing for a topic that is gone (deleted through this
// broker, or through another one this broker has not heard from).
TEST_F(S3Engine, PendingChainsAreSavedWhenOldEnoughAndNeverForADeletedTopic) {
    auto a = open("&checkpoint_objects=1000&checkpoint_ms=600000");
    EXPECT_EQ(a->save_interval(), std::chrono::milliseconds(600000));
    topic_info t{"idle", {}, 1, {}}, here{"gone-here", {}, 1, {}}, there{"gone-there", {}, 1, {}};
    for (auto* x : {&t, &here, &there}) {
        ASSERT_EQ(run(a->create_topic(*x)), error_code::none);
        for (int i = 0; i < 3; ++i)
            ASSERT_EQ(run(a->append(request(x->name, batch(2, "s" + std::to_string(i))))).base_offset, 2 * i);
    }
    auto doc_of = [&](const topic_info& x) {
        return run(a->s3().get(a->key("log/" + uuid_hex(x.id) + "/0/state.json")));
    };
    for (auto* x : {&t, &here, &there}) ASSERT_EQ(doc_of(*x).status, 404) << x->name;
    run(a->save_pending(std::chrono::milliseconds(600000)));  // none has waited that long
    EXPECT_EQ(doc_of(t).status, 404);

    ASSERT_EQ(run(a->delete_topic("gone-here")), error_code::none);
    auto b = open();
    ASSERT_EQ(run(b->delete_topic("gone-there")), error_code::none);
    run(a->save_pending(std::chrono::milliseconds(0)));  // stopping: everything
    auto doc = doc_of(t);
    ASSERT_EQ(doc.status, 200);
    EXPECT_EQ(decode_state(doc.body).next, 6);
    EXPECT_EQ(decode_state(doc.body).objects.size(), 3u);
    EXPECT_EQ(doc_of(here).status, 404);
    EXPECT_EQ(doc_of(there).status, 404);
    // Stored, so a reader needs no chain: its first offsets() reads one document.
    EXPECT_EQ(run(b->offsets("idle", 0)).high_watermark, 6);
}

// Produce coalescing: appends to one partition that arrive while its object write is in
// flight (as from several connections at once) go out together as the next object, in the
// order they were started, within max_object_bytes; linger_ms makes the first one wait.
class S3Coalescing : public S3Engine {
protected:
    // Starts `n` appends of two-record batches at once; returns their base offsets.
    std::vector<std::int64_t> append_together(s3_engine& e, const std::string& topic, int n) {
        std::vector<std::future<append_result>> futs;
        for (int i = 0; i < n; ++i)
            futs.push_back(asio::co_spawn(
                io_, e.append(request(topic, batch(2, "c" + std::to_string(i)))), asio::use_future));
        io_.restart();
        io_.run();
        std::vector<std::int64_t> out;
        for (auto& f : futs) {
            auto r = f.get();
            EXPECT_EQ(r.error, error_code::none);
            out.push_back(r.base_offset);
        }
        return out;
    }
    // The sizes of the partition's batch objects.
    std::vector<std::int64_t> objects(s3_engine& e, const topic_info& t) {
        auto listed = run(e.s3().list(e.key("log/" + uuid_hex(t.id) + "/0/")));
        std::vector<std::int64_t> sizes;
        for (const auto& o : listed.entries)
            if (o.key.ends_with(".batch")) sizes.push_back(o.size);
        return sizes;
    }
    static std::vector<std::int64_t> dense(int n) {
        std::vector<std::int64_t> want;
        for (int i = 0; i < n; ++i) want.push_back(2 * i);
        return want;
    }
};

TEST_F(S3Coalescing, AppendsThatArriveTogetherShareAnObject) {
    auto e = open();
    topic_info t{"together", {}, 1, {}};
    ASSERT_EQ(run(e->create_topic(t)), error_code::none);
    EXPECT_EQ(append_together(*e, "together", 20), dense(20));
    // The first append is written alone; the 19 queued behind it go as one object.
    auto sizes = objects(*e, t);
    EXPECT_GE(sizes.size(), 1u);
    EXPECT_LE(sizes.size(), 2u) << "appends that waited together were not coalesced";
    EXPECT_EQ(base_offsets(*e, "together"), dense(20));
}

TEST_F(S3Coalescing, ObjectsStayWithinMaxObjectBytes) {
    const auto one = static_cast<std::int64_t>(batch(2, "c10").size());
    auto e = open("&max_object_bytes=" + std::to_string(3 * one));
    topic_info t{"capped", {}, 1, {}};
    ASSERT_EQ(run(e->create_topic(t)), error_code::none);
    EXPECT_EQ(append_together(*e, "capped", 20), dense(20));
    auto sizes = objects(*e, t);
    EXPECT_GE(sizes.size(), 7u);  // 1 + ceil(19 / 3)
    EXPECT_LE(sizes.size(), 20u);
    for (auto size : sizes) EXPECT_LE(size, 3 * one);
    EXPECT_EQ(base_offsets(*e, "capped"), dense(20));
}

TEST_F(S3Coalescing, LingerGathersTheFirstAppendWithTheRest) {
    auto e = open("&linger_ms=200");
    topic_info t{"lingered", {}, 1, {}};
    ASSERT_EQ(run(e->create_topic(t)), error_code::none);
    EXPECT_EQ(append_together(*e, "lingered", 20), dense(20));
    EXPECT_EQ(objects(*e, t).size(), 1u);
}

TEST_F(S3Engine, GroupNamesCannotCollideWithOffsetDocuments) {
    auto e = open();
    ASSERT_TRUE(run(e->store_group("g", "state-of-g", 0)).has_value());
    ASSERT_TRUE(run(e->store_group("g.offsets", "state-of-g.offsets", 0)).has_value());
    run(e->commit_offsets("g", {{"t", 0, 42, -1, std::nullopt, 1}}));
    auto other = run(e->load_group("g.offsets"));
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(other->data, "state-of-g.offsets");
    ASSERT_EQ(run(e->fetch_offsets("g")).size(), 1u);
    EXPECT_TRUE(run(e->fetch_offsets("g.offsets")).empty());
    EXPECT_EQ(run(e->list_groups()).size(), 2u);
}

}  // namespace
}  // namespace hako::storage::s3

namespace hako::storage::s3 {
namespace {

TEST(S3Url, ParametersAndTheirErrors) {
    auto o = parse_url("s3://b/some/prefix/?path_style=false&max_object_bytes=1024&connect_to=10.0.0.7:9000");
    EXPECT_EQ(o.bucket, "b");
    EXPECT_EQ(o.prefix, "some/prefix");
    ASSERT_TRUE(o.path_style.has_value());
    EXPECT_FALSE(*o.path_style);
    EXPECT_EQ(o.max_object_bytes, 1024u);
    EXPECT_EQ(o.connect_to, "10.0.0.7:9000");
    EXPECT_EQ(parse_url("s3://b?connect_to=[::1]:9000").connect_to, "[::1]:9000");
    EXPECT_EQ(parse_url("s3://b").prefix, "");
    for (auto bad : {"s3://b?connect_to=host", "s3://b?connect_to=host:", "s3://b?connect_to=:80",
                     "s3://b?connect_to=host:8x", "s3://b?nope=1", "s3:///prefix", "http://b"})
        EXPECT_THROW(parse_url(bad), std::invalid_argument) << bad;
}

}  // namespace
}  // namespace hako::storage::s3
