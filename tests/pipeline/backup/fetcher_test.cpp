// The fetcher without a broker: which partitions may fetch, how a leader's partitions are split
// into requests, back-off, offset-reset decisions, and fetch answers handled into segments
// (real record batches, a filesystem store behind the uploader, a cluster view never connected).
#include "pipeline/backup/fetcher.hpp"

#include <unistd.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "protocol/error_codes.hpp"
#include "protocol/records/record_batch.hpp"
#include "storage/filesystem_store.hpp"

namespace kb::pipeline::backup {
namespace {

namespace fs = std::filesystem;
namespace sf = storage::format;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

TEST(fetcher_rules, fetchable_only_when_active_idle_past_backoff_and_uploads_keep_up) {
  const auto now = steady::now();
  partition_state ps;
  EXPECT_FALSE(fetchable(ps, now));  // pending
  ps.phase = part_phase::active;
  EXPECT_TRUE(fetchable(ps, now));
  ps.fetching = true;
  EXPECT_FALSE(fetchable(ps, now));
  ps.fetching = false;
  ps.needs_reset = true;
  EXPECT_FALSE(fetchable(ps, now));
  ps.needs_reset = false;
  ps.not_before = now + 1s;
  EXPECT_FALSE(fetchable(ps, now));
  EXPECT_TRUE(fetchable(ps, now + 2s));
  ps.not_before = {};
  ps.closing.push_back(nullptr);
  EXPECT_TRUE(fetchable(ps, now));
  ps.closing.push_back(nullptr);
  EXPECT_FALSE(fetchable(ps, now));  // two sealed segments wait: back-pressure
  ps.phase = part_phase::done;
  ps.closing.clear();
  EXPECT_FALSE(fetchable(ps, now));
}

TEST(fetcher_rules, a_leaders_partitions_are_shared_over_its_free_slots) {
  partition_map parts;
  std::vector<net::topic_partition> list;
  for (int i = 0; i < 5; ++i) {
    list.push_back({"t", i});
    parts[{"t", i}].tp = {"t", i};
  }
  auto first = take_request(list, 2, parts);  // ceil(5 / 2)
  EXPECT_EQ(first, (std::vector<net::topic_partition>{{"t", 0}, {"t", 1}, {"t", 2}}));
  auto second = take_request(list, 1, parts);
  EXPECT_EQ(second, (std::vector<net::topic_partition>{{"t", 3}, {"t", 4}}));
  EXPECT_TRUE(list.empty());
  EXPECT_TRUE(take_request(list, 1, parts).empty());
}

TEST(fetcher_rules, a_partition_to_ask_alone_goes_by_itself) {
  partition_map parts;
  std::vector<net::topic_partition> list{{"t", 0}, {"t", 1}, {"t", 2}};
  for (const auto& tp : list) parts[tp].tp = tp;
  parts[{"t", 1}].fetch_alone = true;
  EXPECT_EQ(take_request(list, 1, parts), (std::vector<net::topic_partition>{{"t", 1}}));
  EXPECT_EQ(take_request(list, 1, parts), (std::vector<net::topic_partition>{{"t", 0}, {"t", 2}}));
}

TEST(fetcher_rules, failure_backoff_doubles_and_is_capped) {
  EXPECT_EQ(failure_delay(1, 100ms, 10s), 200ms);
  EXPECT_EQ(failure_delay(3, 100ms, 10s), 800ms);
  EXPECT_EQ(failure_delay(8, 10ms, 100s), 2560ms);
  EXPECT_EQ(failure_delay(12, 10ms, 100s), 2560ms);  // the exponent stops at 8
  EXPECT_EQ(failure_delay(8, 100ms, 10s), 10s);
}

TEST(fetcher_rules, offset_reset_records_a_gap_or_refuses_a_truncated_log) {
  const auto gap = decide_reset(100, 250, 900);
  EXPECT_EQ(gap.what, reset_decision::gap);
  EXPECT_EQ(gap.deleted, (sf::offset_gap{100, 249}));
  EXPECT_EQ(decide_reset(1000, 250, 900).what, reset_decision::truncated);
  EXPECT_EQ(decide_reset(300, 250, 900).what, reset_decision::keep);
  EXPECT_EQ(decide_reset(900, 250, 900).what, reset_decision::keep);  // at the end: nothing lost
}

/// Records bytes holding one v2 batch per (base offset, count).
shared_bytes batches(std::vector<std::pair<std::int64_t, int>> specs) {
  byte_vector all;
  for (const auto& [base, count] : specs) {
    protocol::batch_options o;
    o.base_offset = base;
    protocol::record_batch_builder b(o);
    for (int i = 0; i < count; ++i) {
      const std::string v = "v" + std::to_string(base + i);
      b.add(1000 + base + i, std::nullopt, as_bytes(v));
    }
    auto bytes = b.build();
    EXPECT_TRUE(bytes);
    all.insert(all.end(), bytes->begin(), bytes->end());
  }
  return shared_bytes(std::move(all));
}

class fetcher_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kb-fetcher-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    store_ = std::make_unique<storage::filesystem_store>(dir_);
    cluster_ = net::cluster::create(io_.get_executor(), net::cluster_options{});
    admin_ = std::make_unique<kafka_admin>(*cluster_, admin_retry{});
    uploader_ = std::make_unique<segment_uploader>(
        io_, *store_, paths_, budget_, parts_, totals_, segment_uploader::options{sf::frame_codec::none, 3, 1, 1},
        segment_uploader::hooks{[this](error e) { errors_.push_back(std::move(e)); }, [this] { return !errors_.empty(); },
                                [] {}});
    fetcher::options fo;
    fo.principal_hint = "User:backup";
    fetcher_ = std::make_unique<fetcher>(
        io_, *cluster_, *admin_, budget_, parts_, *uploader_, totals_, fo,
        fetcher::hooks{[this](error e) { errors_.push_back(std::move(e)); }, [] {},
                       [this](partition_state& ps) {
                         ps.phase = part_phase::done;
                         ++finished_;
                       },
                       [this] { ++counted_; }});
  }
  void TearDown() override {
    uploader_->shutdown();
    fetcher_.reset();
    uploader_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  partition_state& part(std::int64_t next, std::optional<std::int64_t> end = std::nullopt) {
    auto& ps = parts_[{"t", 0}];
    ps.tp = {"t", 0};
    ps.phase = part_phase::active;
    ps.next_offset = next;
    ps.end_offset = end;
    return ps;
  }
  static protocol::fetch_response::partition answer(std::int16_t code, std::int64_t hw,
                                                    std::optional<shared_bytes> records = std::nullopt) {
    protocol::fetch_response::partition p;
    p.partition_index = 0;
    p.error_code = code;
    p.high_watermark = hw;
    p.records = std::move(records);
    return p;
  }

  fs::path dir_;
  std::unique_ptr<storage::filesystem_store> store_;
  boost::asio::io_context io_;
  sf::backup_paths paths_{"b"};
  memory_budget budget_{30'000};  ///< small: a segment seals at 10,000 raw bytes
  partition_map parts_;
  stats totals_;
  std::shared_ptr<net::cluster> cluster_;
  std::unique_ptr<kafka_admin> admin_;
  std::unique_ptr<segment_uploader> uploader_;
  std::unique_ptr<fetcher> fetcher_;
  std::vector<error> errors_;
  int finished_ = 0;
  int counted_ = 0;
};

TEST_F(fetcher_test, batches_are_appended_and_the_position_moves) {
  auto& ps = part(0);
  auto p = answer(0, 30, batches({{0, 10}, {10, 10}, {20, 10}}));
  const auto appended = fetcher_->handle_partition(ps, p, false);
  EXPECT_TRUE(errors_.empty());
  EXPECT_GT(appended, 0u);
  EXPECT_EQ(ps.next_offset, 30);
  EXPECT_EQ(ps.high_watermark, 30);
  ASSERT_TRUE(ps.cur);
  EXPECT_EQ(ps.cur->records, 30u);
  EXPECT_EQ(ps.cur->batches, 3u);
  EXPECT_EQ(ps.cur->charged, appended);
  EXPECT_EQ(budget_.used(), appended);  // charged until stored
  EXPECT_EQ(finished_, 0);
}

TEST_F(fetcher_test, batches_before_the_position_are_skipped_and_the_end_offset_finishes) {
  auto& ps = part(10, 20);
  auto p = answer(0, 40, batches({{0, 10}, {10, 10}, {20, 10}}));
  fetcher_->handle_partition(ps, p, false);
  EXPECT_EQ(ps.next_offset, 20);
  EXPECT_EQ(ps.cur->batches, 1u);  // 0..9 is behind us, 20..29 past the end
  EXPECT_EQ(finished_, 1);
}

TEST_F(fetcher_test, the_log_start_inside_a_batch_is_stored_as_a_gap) {
  auto& ps = part(5);
  auto p = answer(0, 10, batches({{0, 10}}));
  fetcher_->handle_partition(ps, p, true);
  EXPECT_EQ(ps.next_offset, 10);
  ASSERT_TRUE(ps.cur);
  EXPECT_EQ(ps.cur->gaps, (std::vector<sf::offset_gap>{{0, 4}}));
  EXPECT_EQ(ps.cur->records, 5u);  // only those at or past the log start count
}

TEST_F(fetcher_test, an_empty_answer_in_a_shared_request_is_asked_again_alone_then_taken_as_compacted) {
  auto& ps = part(50);
  auto p = answer(0, 80);
  fetcher_->handle_partition(ps, p, false);
  EXPECT_TRUE(ps.fetch_alone);
  EXPECT_EQ(ps.next_offset, 50);  // nothing concluded yet
  fetcher_->handle_partition(ps, p, true);
  EXPECT_FALSE(ps.fetch_alone);
  EXPECT_EQ(ps.next_offset, 80);  // asked alone: compacted away up to the high watermark
}

TEST_F(fetcher_test, a_truncated_batch_raises_the_partition_fetch_size) {
  auto& ps = part(0);
  auto whole = batches({{0, 50}});
  byte_vector cut(whole.view().begin(), whole.view().begin() + static_cast<std::ptrdiff_t>(whole.view().size() / 2));
  auto p = answer(0, 50, shared_bytes(std::move(cut)));
  fetcher_->handle_partition(ps, p, true);
  EXPECT_EQ(ps.next_offset, 0);
  EXPECT_EQ(ps.max_bytes_boost, 2 << 20);
  fetcher_->handle_partition(ps, p, true);
  EXPECT_EQ(ps.max_bytes_boost, 4 << 20);
}

TEST_F(fetcher_test, retriable_codes_back_off_and_mark_metadata_stale) {
  auto& ps = part(0);
  auto p = answer(static_cast<std::int16_t>(protocol::error_code::not_leader_or_follower), -1);
  const auto before = steady::now();
  fetcher_->handle_partition(ps, p, false);
  EXPECT_TRUE(errors_.empty());
  EXPECT_TRUE(fetcher_->metadata_stale());
  EXPECT_EQ(ps.failures, 1);
  EXPECT_EQ(counted_, 1);
  EXPECT_GT(ps.not_before, before);
  fetcher_->metadata_refreshed();
  EXPECT_FALSE(fetcher_->metadata_stale());
}

TEST_F(fetcher_test, an_out_of_range_answer_for_a_held_offset_backs_off_without_moving) {
  // A new leader answered OFFSET_OUT_OF_RANGE although ListOffsets says the log holds the position:
  // nothing may be skipped, and the next fetch must wait (it used to go out at once, a hot loop).
  auto& ps = part(300);
  const auto before = steady::now();
  fetcher_->apply_reset(ps, 250, 900);
  EXPECT_TRUE(errors_.empty());
  EXPECT_EQ(ps.next_offset, 300);
  EXPECT_EQ(totals_.gaps, 0u);
  EXPECT_TRUE(fetcher_->metadata_stale());
  EXPECT_EQ(ps.failures, 1);
  EXPECT_GT(ps.not_before, before);
  EXPECT_FALSE(fetchable(ps, before));
  for (int i = 0; i < 12; ++i) fetcher_->apply_reset(ps, 250, 900);  // bounded: it gives up, naming it
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_NE(errors_[0].message.find("OFFSET_OUT_OF_RANGE for offset 300"), std::string::npos) << errors_[0].message;
}

TEST_F(fetcher_test, an_out_of_range_answer_below_the_log_start_records_the_gap) {
  auto& ps = part(0);
  fetcher_->apply_reset(ps, 3, 3);
  EXPECT_TRUE(errors_.empty());
  EXPECT_EQ(ps.next_offset, 3);
  EXPECT_EQ(totals_.gaps, 1u);
  EXPECT_EQ(ps.failures, 0);
}

TEST_F(fetcher_test, twelve_failures_in_a_row_give_up) {
  auto& ps = part(0);
  auto p = answer(static_cast<std::int16_t>(protocol::error_code::leader_not_available), -1);
  for (int i = 0; i < 13; ++i) fetcher_->handle_partition(ps, p, false);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_NE(errors_[0].message.find("giving up after 13 failed fetches"), std::string::npos) << errors_[0].message;
}

TEST_F(fetcher_test, authorization_stops_the_backup_naming_topic_and_principal) {
  auto& ps = part(0);
  auto p = answer(static_cast<std::int16_t>(protocol::error_code::topic_authorization_failed), -1);
  fetcher_->handle_partition(ps, p, false);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_TRUE(errors_[0].is(errc::authorization));
  EXPECT_NE(errors_[0].message.find("User:backup"), std::string::npos) << errors_[0].message;
}

TEST_F(fetcher_test, corrupt_records_are_an_error_naming_the_partition) {
  auto& ps = part(0);
  byte_vector junk(200, 0xff);
  auto p = answer(0, 10, shared_bytes(std::move(junk)));
  fetcher_->handle_partition(ps, p, false);
  ASSERT_FALSE(errors_.empty());
  EXPECT_NE(errors_[0].message.find("t-0"), std::string::npos) << errors_[0].message;
}

TEST_F(fetcher_test, a_segment_reaching_a_third_of_the_budget_is_sealed) {
  auto& ps = part(0);
  auto p = answer(0, 1200, batches({{0, 600}, {600, 600}}));  // about 7 KB each
  fetcher_->handle_partition(ps, p, false);
  EXPECT_EQ(ps.next_offset, 1200);
  EXPECT_GE(ps.closing.size() + (ps.uploading ? 1u : 0u), 1u);  // sealed and queued for upload
}

}  // namespace
}  // namespace kb::pipeline::backup
