// segment_uploader without a broker: segments sealed, compressed on the pool, written to a filesystem store
// and checkpointed after; the budget returns to zero; checkpoint_after and write_segment on their own.
#include "pipeline/backup/segment_uploader.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>

#include <gtest/gtest.h>

#include "pipeline/frame_filters.hpp"
#include "storage/filesystem_store.hpp"
#include "tests/storage/forwarding_store.hpp"

namespace kb::pipeline::backup {
namespace {

namespace fs = std::filesystem;
namespace sf = storage::format;
using namespace std::chrono_literals;

class uploader_test : public ::testing::Test {
 protected:
  void SetUp() override {
    install_frame_filters();  // compressed segments are written with the batch columns
    dir_ = fs::temp_directory_path() /
           ("kb-uploader-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_);
  }
  void TearDown() override {
    if (up_) up_->shutdown();
    up_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void make(sf::frame_codec codec, bool keep_newer_checkpoint = false) {
    up_ = std::make_unique<segment_uploader>(
        io_, *store_, paths_, budget_, parts_, totals_,
        segment_uploader::options{codec, 3, 2, 2, keep_newer_checkpoint},
        segment_uploader::hooks{[this](error e) { error_ = std::move(e); }, [this] { return failed_; },
                                [this] { ++pokes_; }});
  }
  partition_state& part() {
    auto& ps = parts_[tp_];
    ps.tp = tp_;
    ps.phase = part_phase::active;
    ps.checkpoint.topic = tp_.topic;
    return ps;
  }
  /// Appends a batch of `size` bytes holding offsets first..last, charged like the fetcher does.
  void append(partition_state& ps, std::int64_t first, std::int64_t last, std::size_t size) {
    auto& seg = up_->current(ps);
    byte_vector bytes(size, static_cast<std::uint8_t>(first));
    sf::batch_entry e;
    e.first_offset = first;
    e.last_offset = last;
    e.first_timestamp = 1000 + first;
    e.max_timestamp = 1000 + last;
    e.record_count = static_cast<std::int32_t>(last - first + 1);
    auto sealed = seg.builder.append(byte_view(bytes), e);
    if (sealed) up_->submit_compress(ps, ps.cur, std::move(*sealed));
    seg.records += static_cast<std::uint64_t>(e.record_count);
    ++seg.batches;
    if (seg.min_ts < 0) seg.min_ts = e.first_timestamp;
    seg.max_ts = e.max_timestamp;
    seg.charged += size;
    budget_.force_acquire(size);
  }
  /// Runs the io context until `done` holds (bounded: 20 s).
  template <class Pred>
  bool run_until(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(10ms);
    }
    return done();
  }
  void upload_and_check(sf::frame_codec codec) {
    make(codec);
    auto& ps = part();
    append(ps, 0, 9, 3000);
    append(ps, 10, 19, 5000);
    up_->close(ps);
    ASSERT_TRUE(run_until([&] { return ps.has_checkpoint || error_; }));
    ASSERT_FALSE(error_) << error_->message;
    EXPECT_FALSE(ps.uploading);
    EXPECT_TRUE(ps.closing.empty());
    EXPECT_EQ(up_->in_flight(), 0);
    const auto key = paths_.segment("t", 0, 0, 19);
    EXPECT_EQ(ps.checkpoint.next_offset, 20);
    EXPECT_EQ(ps.checkpoint.last_segment, key);
    EXPECT_EQ(ps.checkpoint.records, 20u);
    EXPECT_EQ(ps.checkpoint.min_timestamp, 1000);
    EXPECT_EQ(ps.checkpoint.max_timestamp, 1019);
    // The checkpoint in the store is the one the partition holds, and names a readable segment.
    auto text = store_->get(paths_.checkpoint("t", 0));
    ASSERT_TRUE(text);
    auto stored = sf::parse_checkpoint(as_text(*text));
    ASSERT_TRUE(stored);
    EXPECT_EQ(*stored, ps.checkpoint);
    auto idx = sf::read_segment_index(*store_, key);
    ASSERT_TRUE(idx) << idx.error().message;
    EXPECT_EQ(idx->first_offset(), 0);
    EXPECT_EQ(idx->last_offset(), 19);
    EXPECT_EQ(idx->file_size, ps.checkpoint.bytes_stored);
    EXPECT_EQ(totals_.segments, 1u);
    EXPECT_EQ(totals_.batches, 2u);
    EXPECT_EQ(totals_.bytes_raw, 8000u);
    EXPECT_EQ(budget_.used(), 0u);  // everything charged was given back
    EXPECT_GT(pokes_, 0);
  }

  fs::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
  boost::asio::io_context io_;
  sf::backup_paths paths_{"b"};
  memory_budget budget_{64u << 20};
  partition_map parts_;
  stats totals_;
  net::topic_partition tp_{"t", 0};
  std::optional<error> error_;
  bool failed_ = false;
  int pokes_ = 0;
  std::unique_ptr<segment_uploader> up_;
};

TEST_F(uploader_test, a_compressed_segment_is_uploaded_then_checkpointed) { upload_and_check(sf::frame_codec::zstd); }

TEST_F(uploader_test, an_uncompressed_segment_is_uploaded_then_checkpointed) { upload_and_check(sf::frame_codec::none); }

TEST_F(uploader_test, the_next_segment_chains_on_the_first) {
  make(sf::frame_codec::lz4);
  auto& ps = part();
  append(ps, 0, 4, 100);
  up_->close(ps);
  append(ps, 5, 9, 100);
  up_->close(ps);  // queued behind the first: one upload per partition at a time
  EXPECT_LE(up_->in_flight(), 1);
  ASSERT_TRUE(run_until([&] { return (ps.checkpoint.next_offset == 10 && !ps.uploading) || error_; }));
  ASSERT_FALSE(error_) << error_->message;
  EXPECT_EQ(ps.checkpoint.segments, 2u);
  EXPECT_EQ(ps.checkpoint.first_offset, 0);
  EXPECT_EQ(ps.checkpoint.last_segment, paths_.segment("t", 0, 5, 9));
  EXPECT_TRUE(store_->get(paths_.segment("t", 0, 0, 4)));
}

// Workers (issue #17): a zombie whose partition moved to another worker still seals and uploads
// what it held; the new owner's checkpoint, further on, must not be moved back by it.
TEST_F(uploader_test, a_worker_never_moves_a_stored_checkpoint_back) {
  for (const bool keep : {false, true}) {
    SCOPED_TRACE(keep ? "keep_newer_checkpoint" : "one process");
    sf::partition_checkpoint newer;
    newer.topic = "t";
    newer.next_offset = 50;
    newer.last_segment = paths_.segment("t", 0, 0, 49);
    ASSERT_TRUE(store_->put(paths_.checkpoint("t", 0), as_bytes(sf::to_json(newer))));
    parts_.clear();
    make(sf::frame_codec::none, keep);
    auto& ps = part();
    append(ps, 0, 19, 500);
    up_->close(ps);
    ASSERT_TRUE(run_until([&] { return (ps.has_checkpoint && !ps.uploading) || error_; }));
    ASSERT_FALSE(error_) << error_->message;
    EXPECT_TRUE(store_->get(paths_.segment("t", 0, 0, 19)));  // the zombie's segment is stored
    auto stored = sf::parse_checkpoint(as_text(*store_->get(paths_.checkpoint("t", 0))));
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->next_offset, keep ? 50 : 20);
    up_->shutdown();
    up_.reset();
  }
}

TEST_F(uploader_test, only_segments_opened_before_the_limit_are_rotated) {
  make(sf::frame_codec::none);
  auto& ps = part();
  append(ps, 0, 4, 100);
  const auto opened = ps.cur->opened;
  up_->close_older_than(opened - 1ms);
  EXPECT_TRUE(ps.cur);  // younger than the limit: stays open
  up_->close_older_than(opened);
  EXPECT_FALSE(ps.cur);
  ASSERT_TRUE(run_until([&] { return ps.has_checkpoint || error_; }));
  EXPECT_EQ(ps.checkpoint.next_offset, 5);
}

TEST_F(uploader_test, an_empty_segment_is_dropped_and_its_charge_returned) {
  make(sf::frame_codec::zstd);
  auto& ps = part();
  auto& seg = up_->current(ps);
  seg.charged = 10;
  budget_.force_acquire(10);
  up_->close(ps);
  EXPECT_FALSE(ps.cur);
  EXPECT_TRUE(ps.closing.empty());
  EXPECT_EQ(budget_.used(), 0u);
  EXPECT_EQ(up_->in_flight(), 0);
}

TEST_F(uploader_test, after_an_error_no_upload_starts) {
  make(sf::frame_codec::none);
  auto& ps = part();
  append(ps, 0, 4, 100);
  failed_ = true;
  up_->close(ps);
  EXPECT_EQ(up_->in_flight(), 0);
  EXPECT_EQ(ps.closing.size(), 1u);  // sealed, abandoned: never checkpointed
  EXPECT_FALSE(store_->get(paths_.checkpoint("t", 0)));
}

TEST(checkpoint_after, adds_the_segment_to_the_running_totals) {
  sf::partition_checkpoint c;
  c.next_offset = 100;
  c.segments = 2;
  c.records = 50;
  c.first_offset = 0;
  c.min_timestamp = 500;
  c.max_timestamp = 900;
  c.gaps = {{40, 49}};
  open_segment seg{sf::segment_builder::options{}};
  seg.records = 7;
  seg.raw_bytes = 1234;
  seg.min_ts = 400;
  seg.max_ts = 950;
  seg.gaps = {{45, 60}, {150, 159}};
  const auto n = checkpoint_after(c, {"t", 3}, seg, 100, 199, "k");
  EXPECT_EQ(n.topic, "t");
  EXPECT_EQ(n.partition, 3);
  EXPECT_EQ(n.next_offset, 200);
  EXPECT_EQ(n.last_segment, "k");
  EXPECT_EQ(n.segments, 3u);
  EXPECT_EQ(n.records, 57u);
  EXPECT_EQ(n.bytes_raw, 1234u);
  EXPECT_EQ(n.first_offset, 0);  // kept
  EXPECT_EQ(n.min_timestamp, 400);
  EXPECT_EQ(n.max_timestamp, 950);
  EXPECT_EQ(n.gaps, (std::vector<sf::offset_gap>{{40, 60}, {150, 159}}));
  EXPECT_EQ(n.bytes_stored, 0u);  // added once the size is known
  sf::partition_checkpoint fresh;
  fresh.first_offset = -1;
  EXPECT_EQ(checkpoint_after(fresh, {"t", 0}, seg, 100, 199, "k").first_offset, 100);
}

TEST_F(uploader_test, write_segment_stores_the_pieces_in_order) {
  sf::segment_builder::parts p;
  p.head = {1, 2};
  p.frames = {{3, 4, 5}, {}, {6}};
  p.tail = {7, 8, 9};
  ASSERT_TRUE(write_segment(*store_, "b/x.kbs", p));
  auto x = store_->get("b/x.kbs");
  ASSERT_TRUE(x);
  EXPECT_EQ(byte_vector(x->begin(), x->end()), (byte_vector{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(p.frames[0], (byte_vector{3, 4, 5}));  // the pieces are written from where they lie, not moved
}

}  // namespace
}  // namespace kb::pipeline::backup

namespace kb::pipeline::backup {
namespace {

/// The filesystem store, recording the calls made through its commit groups in order.
class recording_store final : public storage::testing::forwarding_store {
 public:
  explicit recording_store(storage::filesystem_store& inner) : forwarding_store(inner), inner_(inner) {}
  std::vector<std::string> events;  ///< "writer <key>", "put <key>", "sync"

  std::unique_ptr<storage::commit_group> open_commit_group() override {
    return std::make_unique<group>(*this, inner_.open_commit_group());
  }
  [[nodiscard]] bool groups_commits() const noexcept override { return true; }

 private:
  class group final : public storage::commit_group {
   public:
    group(recording_store& s, std::unique_ptr<storage::commit_group> g) : s_(s), g_(std::move(g)) {}
    result<void> put(std::string_view k, byte_view d) override {
      record("put " + std::string(k));
      return g_->put(k, d);
    }
    // put(key, pieces): commit_group's, through open_writer below (recorded as "writer <key>").
    using storage::commit_group::put;
    result<std::unique_ptr<storage::object_writer>> open_writer(std::string_view k) override {
      record("writer " + std::string(k));
      return g_->open_writer(k);
    }
    result<void> sync() override {
      record("sync");
      return g_->sync();
    }

   private:
    void record(std::string e) {
      std::lock_guard lock(s_.mu_);
      s_.events.push_back(std::move(e));
    }
    recording_store& s_;
    std::unique_ptr<storage::commit_group> g_;
  };
  storage::filesystem_store& inner_;
  std::mutex mu_;
};

TEST_F(uploader_test, segments_closed_together_share_one_group_and_their_checkpoints_follow_its_sync) {
  recording_store rec(*store_);
  up_ = std::make_unique<segment_uploader>(
      io_, rec, paths_, budget_, parts_, totals_, segment_uploader::options{sf::frame_codec::none, 3, 1, 4},
      segment_uploader::hooks{[this](error e) { error_ = std::move(e); }, [this] { return failed_; },
                              [this] { ++pokes_; }});
  constexpr int n = 10;
  for (int p = 0; p < n; ++p) {
    const net::topic_partition tp{"t", p};
    auto& ps = parts_[tp];
    ps.tp = tp;
    ps.phase = part_phase::active;
    ps.checkpoint.topic = "t";
    append(ps, 0, 4, 100);
    up_->close(ps);  // all ten ready in one io round
  }
  ASSERT_TRUE(run_until([&] {
    if (error_) return true;
    for (auto& [tp, ps] : parts_)
      if (!ps.has_checkpoint) return false;
    return true;
  }));
  ASSERT_FALSE(error_) << error_->message;
  // One group: the ten segments, one sync, the ten checkpoints, one sync (not 20 syncs).
  ASSERT_EQ(rec.events.size(), 2u * n + 2u) << ::testing::PrintToString(rec.events);
  for (int i = 0; i < n; ++i) EXPECT_TRUE(rec.events[i].starts_with("writer ")) << rec.events[i];
  EXPECT_EQ(rec.events[n], "sync");
  for (int i = n + 1; i < 2 * n + 1; ++i) EXPECT_TRUE(rec.events[i].ends_with("checkpoint.json")) << rec.events[i];
  EXPECT_EQ(rec.events.back(), "sync");
  for (int p = 0; p < n; ++p) {
    auto text = store_->get(paths_.checkpoint("t", p));
    ASSERT_TRUE(text);
    EXPECT_TRUE(store_->get(paths_.segment("t", p, 0, 4)));
  }
  EXPECT_EQ(budget_.used(), 0u);
  up_->shutdown();
  up_.reset();  // before `rec`, which it refers to
}

/// The filesystem store calling itself S3 (the uploader used to sniff "s3://" and join the
/// segment into one buffer for it), recording how segments arrive.
class s3_named_store final : public storage::testing::forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  std::atomic<int> joined_segments{0};  ///< .kbs written from one buffer
  std::atomic<int> piece_segments{0};   ///< .kbs written as pieces
  std::atomic<std::size_t> most_pieces{0};

  result<void> put(std::string_view k, byte_view d) override {
    if (k.ends_with(".kbs")) ++joined_segments;
    return forwarding_store::put(k, d);
  }
  result<void> put(std::string_view k, storage::byte_pieces p) override {
    if (k.ends_with(".kbs")) {
      ++piece_segments;
      most_pieces = std::max<std::size_t>(most_pieces, p.size());
    }
    return forwarding_store::put(k, p);
  }
  [[nodiscard]] std::string describe() const override { return "s3://bucket/prefix/"; }
};

TEST_F(uploader_test, an_s3_store_gets_the_segment_as_pieces_and_no_assembled_copy_is_charged) {
  s3_named_store s3(*store_);
  up_ = std::make_unique<segment_uploader>(
      io_, s3, paths_, budget_, parts_, totals_, segment_uploader::options{sf::frame_codec::none, 3, 1, 1},
      segment_uploader::hooks{[this](error e) { error_ = std::move(e); }, [this] { return failed_; },
                              [this] { ++pokes_; }});
  auto& ps = part();
  append(ps, 0, 9, 3000);
  append(ps, 10, 19, 5000);
  const std::uint64_t charged = budget_.used();
  up_->close(ps);
  // Starting the upload takes nothing more from the budget: there is no joined copy to hold.
  EXPECT_EQ(budget_.used(), charged);
  ASSERT_TRUE(run_until([&] { return ps.has_checkpoint || error_; }));
  ASSERT_FALSE(error_) << error_->message;
  EXPECT_EQ(s3.joined_segments.load(), 0);
  EXPECT_EQ(s3.piece_segments.load(), 1);
  EXPECT_GE(s3.most_pieces.load(), 3u);  // header, frame(s), index and trailer
  auto idx = sf::read_segment_index(*store_, paths_.segment("t", 0, 0, 19));
  ASSERT_TRUE(idx) << idx.error().message;
  EXPECT_EQ(idx->file_size, ps.checkpoint.bytes_stored);
  EXPECT_EQ(budget_.used(), 0u);
  up_->shutdown();
  up_.reset();  // before `s3`, which it refers to
}

}  // namespace
}  // namespace kb::pipeline::backup
