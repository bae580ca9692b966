// Every transition of the lane state machine (pipeline/restore/lane.hpp), no broker: queueing,
// the in-flight limit before and after the first acknowledgement, sequences, each kind of answer,
// inferred offsets, reset with back-off and give-up, splitting refused batches, resume skips,
// and what a settled batch writes into the state.
#include <gtest/gtest.h>

#include "pipeline/restore/lane.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/records/record_batch.hpp"

namespace kb::pipeline::restore {
namespace {

using namespace std::chrono_literals;
using protocol::error_code;
using status = queued_batch::status;

// A batch of `n` records with source offsets [first, first + n), each value `value_size` bytes.
output_batch make_batch(std::int64_t first, std::int32_t n, std::size_t value_size = 8) {
  protocol::record_batch_builder b;
  const std::string value(value_size, 'v');
  for (std::int32_t i = 0; i < n; ++i) b.add(1'700'000'000'000 + i, std::nullopt, as_bytes(value));
  auto built = b.build().value();
  output_batch ob;
  ob.size = built.size();
  ob.storage = std::make_shared<byte_vector>(std::move(built));
  ob.record_count = n;
  ob.sources = {{first, n}};
  ob.reencoded = true;
  return ob;
}

produce_answer ok(std::int64_t base) { return produce_answer{0, base, std::nullopt}; }
produce_answer err(error_code code) { return produce_answer{static_cast<std::int16_t>(code), -1, std::string("why")}; }

class lane_test : public ::testing::Test {
 protected:
  // Sends the next batch as the dispatcher does; null when the lane holds it back.
  queued_batch* send(std::size_t max_in_flight = 5) {
    bool meta = false;
    auto next = l_.next_to_send(now_, max_in_flight, ledger_, meta);
    EXPECT_TRUE(next) << next.error().message;
    if (!next || *next == nullptr) return nullptr;
    l_.assign_sequence(**next);
    l_.mark_in_flight(**next);
    return *next;
  }
  lane l_{net::topic_partition{"t", 3}};
  lane_ledger ledger_;
  lane::clock::time_point now_ = lane::clock::now();
};

TEST_F(lane_test, push_counts_bytes_in_the_lane_and_the_ledger) {
  auto a = make_batch(0, 2);
  auto b = make_batch(2, 3);
  const auto total = a.size + b.size;
  l_.push(std::move(a), 0, ledger_);
  l_.push(std::move(b), 1, ledger_);
  EXPECT_EQ(l_.queue().size(), 2u);
  EXPECT_EQ(l_.queued_bytes(), total);
  EXPECT_EQ(ledger_.queued_bytes, total);
  EXPECT_EQ(ledger_.waiting(0), 1u);
  EXPECT_EQ(ledger_.waiting(1), 1u);
  EXPECT_EQ(ledger_.waiting(7), 0u);
  EXPECT_NE(l_.queue()[0].id, l_.queue()[1].id);
  EXPECT_EQ(l_.queue()[0].st, status::unsent);
  EXPECT_EQ(l_.queue()[0].sequence, -1);
}

TEST_F(lane_test, empty_lane_has_nothing_to_send) {
  bool meta = false;
  auto next = l_.next_to_send(now_, 5, ledger_, meta);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, nullptr);
  EXPECT_FALSE(meta);
}

TEST_F(lane_test, one_batch_in_flight_until_the_first_ack_then_pipelined_up_to_the_limit) {
  for (int i = 0; i < 5; ++i) l_.push(make_batch(i * 2, 2), 0, ledger_);
  auto* first = send(3);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(send(3), nullptr) << "no pipelining before the broker holds our producer state";
  EXPECT_FALSE(l_.established());
  l_.on_answer(first->id, ok(100));
  ASSERT_EQ(l_.settle(ledger_).size(), 1u);
  EXPECT_TRUE(l_.established());
  EXPECT_NE(send(3), nullptr);
  EXPECT_NE(send(3), nullptr);
  EXPECT_NE(send(3), nullptr);
  EXPECT_EQ(send(3), nullptr) << "three in flight is the limit";
  EXPECT_EQ(l_.in_flight(), 3u);
  EXPECT_EQ(l_.queue()[3].st, status::unsent);
}

TEST_F(lane_test, sequences_advance_by_record_count_and_stay_once_assigned) {
  l_.push(make_batch(0, 2), 0, ledger_);
  l_.push(make_batch(2, 5), 0, ledger_);
  auto* a = send();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->sequence, 0);
  l_.on_answer(a->id, ok(0));
  (void)l_.settle(ledger_);
  auto* b = send();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->sequence, 2);
  EXPECT_EQ(l_.next_sequence(), 7);
  EXPECT_FALSE(l_.assign_sequence(*b)) << "an assigned sequence stays (the broker dedups by it)";
  EXPECT_EQ(b->sequence, 2);
}

TEST_F(lane_test, ack_settles_into_target_offsets_and_frees_the_ledger) {
  l_.push(make_batch(10, 4), 0, ledger_);
  auto* q = send();
  ASSERT_NE(q, nullptr);
  const auto size = q->batch.size;
  const auto fx = l_.on_answer(q->id, ok(500));
  EXPECT_FALSE(fx.fatal);
  EXPECT_FALSE(fx.retry);
  EXPECT_EQ(l_.in_flight(), 0u);
  auto settled = l_.settle(ledger_);
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(settled[0].base, 500);
  EXPECT_EQ(settled[0].state, 0u);
  EXPECT_EQ(settled[0].batch.size, size);
  EXPECT_EQ(l_.target_next(), 504);
  EXPECT_TRUE(l_.empty());
  EXPECT_EQ(l_.queued_bytes(), 0u);
  EXPECT_EQ(ledger_.queued_bytes, 0u);
  EXPECT_EQ(ledger_.waiting(0), 0u);
}

TEST_F(lane_test, settle_keeps_produce_order) {
  l_.push(make_batch(0, 2), 0, ledger_);
  l_.push(make_batch(2, 2), 0, ledger_);
  auto* a = send();
  l_.on_answer(a->id, ok(0));
  (void)l_.settle(ledger_);  // established
  l_.push(make_batch(4, 2), 0, ledger_);
  auto* b = send();
  auto* c = send();
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  const auto b_id = b->id;
  l_.on_answer(c->id, produce_answer{0, -1, std::nullopt});  // acked, base unknown
  EXPECT_TRUE(l_.settle(ledger_).empty()) << "a later ack waits for the earlier batch";
  l_.on_answer(b_id, ok(2));
  auto settled = l_.settle(ledger_);
  ASSERT_EQ(settled.size(), 2u);
  EXPECT_EQ(settled[0].base, 2);
  EXPECT_EQ(settled[1].base, 4) << "no base in the answer: the batch follows the previous one";
  EXPECT_EQ(l_.target_next(), 6);
}

TEST_F(lane_test, duplicate_sequence_is_an_ack_placed_after_the_previous_batch) {
  l_.set_target_next(40);
  l_.push(make_batch(0, 3), 0, ledger_);
  auto* q = send();
  const auto fx = l_.on_answer(q->id, err(error_code::duplicate_sequence_number));
  EXPECT_FALSE(fx.fatal);
  EXPECT_FALSE(fx.retry);
  auto settled = l_.settle(ledger_);
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(settled[0].base, 40);
  EXPECT_EQ(l_.target_next(), 43);
}

TEST_F(lane_test, a_later_ack_proves_an_earlier_lost_batch_written) {
  l_.push(make_batch(0, 1), 0, ledger_);
  auto* first = send();
  l_.on_answer(first->id, ok(0));
  (void)l_.settle(ledger_);
  l_.push(make_batch(1, 3), 0, ledger_);
  l_.push(make_batch(4, 2), 0, ledger_);
  auto* a = send();
  auto* b = send();
  const auto a_id = a->id;
  l_.on_lost(a_id, "connection reset");
  EXPECT_EQ(l_.queue()[0].st, status::failed);
  EXPECT_EQ(l_.last_failure(), "connection reset");
  l_.on_answer(b->id, ok(11));
  auto settled = l_.settle(ledger_);
  ASSERT_EQ(settled.size(), 2u) << "the lost batch is inferred from the later one's offset";
  EXPECT_EQ(settled[0].base, 8);
  EXPECT_EQ(settled[1].base, 11);
  EXPECT_EQ(l_.target_next(), 13);
}

TEST_F(lane_test, a_refused_too_large_batch_is_never_inferred_written) {
  l_.push(make_batch(0, 1), 0, ledger_);
  auto* first = send();
  l_.on_answer(first->id, ok(0));
  (void)l_.settle(ledger_);
  l_.push(make_batch(1, 3), 0, ledger_);
  l_.push(make_batch(4, 2), 0, ledger_);
  auto* a = send();
  auto* b = send();
  l_.on_answer(a->id, err(error_code::message_too_large));
  l_.on_answer(b->id, ok(11));
  EXPECT_TRUE(l_.settle(ledger_).empty());
  EXPECT_EQ(l_.queue()[0].st, status::failed);
  EXPECT_TRUE(l_.queue()[0].too_large);
}

TEST_F(lane_test, too_large_learns_a_limit_and_the_reset_splits_and_resequences) {
  l_.push(make_batch(0, 40, 100), 0, ledger_);
  l_.push(make_batch(40, 40, 100), 0, ledger_);
  auto* a = send();
  ASSERT_NE(a, nullptr);
  const auto size = a->batch.size;
  const auto fx = l_.on_answer(a->id, err(error_code::record_list_too_large));
  EXPECT_FALSE(fx.fatal);
  EXPECT_FALSE(fx.retry);
  EXPECT_EQ(l_.max_bytes(), std::max<std::size_t>(size / 2, 512));
  bool meta = false;
  auto next = l_.next_to_send(now_, 5, ledger_, meta);
  ASSERT_TRUE(next) << next.error().message;
  ASSERT_NE(*next, nullptr);
  EXPECT_FALSE(meta) << "too large is no metadata problem";
  EXPECT_EQ(l_.not_before(), lane::clock::time_point{}) << "and no back-off";
  EXPECT_EQ(l_.failures(), 1);
  std::int32_t records = 0;
  std::size_t bytes = 0;
  for (const auto& q : l_.queue()) {
    EXPECT_EQ(q.st, status::unsent);
    EXPECT_EQ(q.sequence, -1);
    EXPECT_FALSE(q.too_large);
    // The refused batch is split now; the one behind it when it is next (see below).
    if (q.batch.first_source() < 40) {
      EXPECT_LE(q.batch.size, l_.max_bytes());
      records += q.batch.record_count;
    }
    bytes += q.batch.size;
  }
  EXPECT_GT(l_.queue().size(), 2u);
  EXPECT_EQ(records, 40);
  EXPECT_EQ(l_.queued_bytes(), bytes);
  EXPECT_EQ(ledger_.queued_bytes, bytes);
  EXPECT_EQ(ledger_.waiting(0), l_.queue().size());
  EXPECT_EQ(l_.next_sequence(), 0) << "sequences start again where the refused batch's began";
  EXPECT_EQ(l_.queue().front().batch.sources.front().first, 0);
}

TEST_F(lane_test, an_unsent_batch_above_the_learnt_limit_is_split_before_it_goes) {
  l_.push(make_batch(0, 40, 100), 0, ledger_);
  auto* a = send();
  l_.on_answer(a->id, err(error_code::message_too_large));
  bool meta = false;
  ASSERT_TRUE(l_.next_to_send(now_, 5, ledger_, meta));  // reset + split of the refused batch
  // Everything queued later is split too, before its first send.
  l_.push(make_batch(40, 40, 100), 0, ledger_);
  const auto pieces_before = l_.queue().size();
  while (auto* q = send()) {
    l_.on_answer(q->id, ok(0));
    (void)l_.settle(ledger_);
  }
  EXPECT_TRUE(l_.empty());
  EXPECT_GT(pieces_before, 2u);
}

TEST_F(lane_test, a_single_record_above_the_limit_is_an_error_naming_the_partition) {
  l_.push(make_batch(0, 1, 4000), 0, ledger_);
  auto* a = send();
  l_.on_answer(a->id, err(error_code::message_too_large));
  bool meta = false;
  auto next = l_.next_to_send(now_, 5, ledger_, meta);
  ASSERT_FALSE(next);
  EXPECT_NE(next.error().message.find("t[3]"), std::string::npos) << next.error().message;
}

TEST_F(lane_test, retriable_error_waits_for_the_round_then_resends_in_order_with_back_off) {
  l_.push(make_batch(0, 1), 0, ledger_);
  auto* first = send();
  l_.on_answer(first->id, ok(0));
  (void)l_.settle(ledger_);
  l_.push(make_batch(1, 2), 0, ledger_);
  l_.push(make_batch(3, 2), 0, ledger_);
  auto* a = send();
  auto* b = send();
  const auto a_seq = a->sequence;
  const auto b_id = b->id;
  const auto fx = l_.on_answer(a->id, err(error_code::not_leader_or_follower));
  EXPECT_TRUE(fx.retry);
  EXPECT_FALSE(fx.fatal);
  EXPECT_NE(l_.last_failure().find("NOT_LEADER_OR_FOLLOWER"), std::string::npos) << l_.last_failure();
  EXPECT_EQ(send(), nullptr) << "the round still has a request out";
  l_.on_answer(b_id, err(error_code::not_leader_or_follower));
  bool meta = false;
  auto next = l_.next_to_send(now_, 5, ledger_, meta);
  ASSERT_TRUE(next);
  ASSERT_NE(*next, nullptr);
  EXPECT_TRUE(meta);
  EXPECT_EQ((*next)->sequence, a_seq) << "resent with its sequence, so the broker can deduplicate";
  EXPECT_EQ(l_.failures(), 1);
  EXPECT_EQ(l_.not_before(), now_ + 200ms);
  for (const auto& q : l_.queue()) EXPECT_EQ(q.st, status::unsent);
  // The back-off holds the lane after the resend.
  l_.mark_in_flight(**next);
  l_.on_lost((*next)->id, "again");
  auto held = l_.next_to_send(now_ + 100ms, 5, ledger_, meta);
  ASSERT_TRUE(held);
  EXPECT_EQ(*held, nullptr);
  auto later = l_.next_to_send(now_ + 200ms, 5, ledger_, meta);
  ASSERT_TRUE(later);
  EXPECT_NE(*later, nullptr);
  EXPECT_EQ(l_.failures(), 2);
  EXPECT_EQ(l_.not_before(), now_ + 200ms + 400ms);
}

TEST_F(lane_test, twelve_resends_in_a_row_then_give_up_with_the_last_error) {
  l_.push(make_batch(0, 1), 0, ledger_);
  auto t = now_;
  // The first send and twelve resends fail; the thirteenth reset gives up.
  for (int round = 0; round <= lane::max_failed_rounds; ++round) {
    bool meta = false;
    auto next = l_.next_to_send(t, 5, ledger_, meta);
    ASSERT_TRUE(next) << "round " << round << ": " << next.error().message;
    ASSERT_NE(*next, nullptr) << "round " << round;
    l_.assign_sequence(**next);
    l_.mark_in_flight(**next);
    l_.on_answer((*next)->id, err(error_code::not_enough_replicas));
    t += 10s;  // past any back-off
  }
  bool meta = false;
  auto next = l_.next_to_send(t, 5, ledger_, meta);
  ASSERT_FALSE(next);
  EXPECT_TRUE(next.error().is(errc::broker));
  EXPECT_NE(next.error().message.find("t[3] failed 12 times"), std::string::npos) << next.error().message;
  EXPECT_NE(next.error().message.find("NOT_ENOUGH_REPLICAS"), std::string::npos) << next.error().message;
}

TEST_F(lane_test, an_ack_resets_the_failure_count) {
  l_.push(make_batch(0, 1), 0, ledger_);
  auto* a = send();
  l_.on_lost(a->id, "reset");
  bool meta = false;
  auto next = l_.next_to_send(now_, 5, ledger_, meta);
  ASSERT_TRUE(next && *next);
  EXPECT_EQ(l_.failures(), 1);
  l_.mark_in_flight(**next);
  l_.on_answer((*next)->id, ok(0));
  (void)l_.settle(ledger_);
  EXPECT_EQ(l_.failures(), 0);
}

TEST_F(lane_test, a_topic_in_the_old_message_format_stops_the_restore_with_the_fix) {
  // Found against Kafka 2.8 with log.message.format.version=0.10.2 (issue #16): the answer was
  // retried 12 times over ~40 s and then reported without saying why or what to change.
  l_.push(make_batch(0, 1), 0, ledger_);
  auto* a = send();
  const auto fx = l_.on_answer(a->id, err(error_code::unsupported_for_message_format));
  ASSERT_TRUE(fx.fatal);
  EXPECT_TRUE(fx.fatal->is(errc::broker));
  EXPECT_NE(fx.fatal->message.find("UNSUPPORTED_FOR_MESSAGE_FORMAT"), std::string::npos);
  EXPECT_NE(fx.fatal->message.find("message.format.version"), std::string::npos);
  EXPECT_FALSE(fx.retry);
}

TEST_F(lane_test, authorization_and_fatal_errors_stop_the_restore) {
  l_.push(make_batch(0, 1), 0, ledger_);
  auto* a = send();
  auto fx = l_.on_answer(a->id, err(error_code::topic_authorization_failed));
  ASSERT_TRUE(fx.fatal);
  EXPECT_TRUE(fx.fatal->is(errc::authorization));
  EXPECT_NE(fx.fatal->message.find("needs Write on it"), std::string::npos);
  EXPECT_FALSE(fx.retry);

  lane other{net::topic_partition{"u", 0}};
  other.push(make_batch(0, 1), 0, ledger_);
  bool meta = false;
  auto* q = *other.next_to_send(now_, 5, ledger_, meta);
  other.assign_sequence(*q);
  other.mark_in_flight(*q);
  fx = other.on_answer(q->id, err(error_code::invalid_record));
  ASSERT_TRUE(fx.fatal);
  EXPECT_TRUE(fx.fatal->is(errc::broker));
  EXPECT_NE(fx.fatal->message.find("producing to u[0] failed: INVALID_RECORD"), std::string::npos) << fx.fatal->message;
}

TEST_F(lane_test, out_of_order_sequence_is_retried_not_fatal) {
  l_.push(make_batch(0, 1), 0, ledger_);
  auto* a = send();
  const auto fx = l_.on_answer(a->id, err(error_code::out_of_order_sequence_number));
  EXPECT_FALSE(fx.fatal);
  EXPECT_TRUE(fx.retry);
  EXPECT_EQ(l_.queue()[0].st, status::failed);
}

TEST_F(lane_test, a_continued_producer_starts_at_its_saved_sequence_and_stamps_its_id) {
  l_.use_producer(lane_producer{4001, 2, 77, true});
  l_.push(make_batch(0, 3), 0, ledger_);
  l_.push(make_batch(3, 2), 0, ledger_);
  auto* a = send();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->sequence, 77);
  EXPECT_EQ(l_.producer().id, 4001);
  EXPECT_EQ(l_.producer().epoch, 2);
  EXPECT_EQ(l_.next_sequence(), 80);
}

TEST_F(lane_test, sequences_wrap_to_zero_after_the_largest_int32) {
  l_.use_producer(lane_producer{1, 0, 2147483646, true});
  l_.push(make_batch(0, 3), 0, ledger_);
  auto* a = send();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->sequence, 2147483646);
  EXPECT_EQ(l_.next_sequence(), 1);
}

TEST_F(lane_test, out_of_order_on_the_first_batch_of_a_continued_producer_stops_with_an_integrity_error) {
  l_.use_producer(lane_producer{4001, 0, 16, true});
  l_.set_target_next(116);
  l_.push(make_batch(0, 4), 0, ledger_);
  auto* a = send();
  const auto fx = l_.on_answer(a->id, err(error_code::out_of_order_sequence_number));
  ASSERT_TRUE(fx.fatal);
  EXPECT_TRUE(fx.fatal->is(errc::corrupt));
  EXPECT_NE(fx.fatal->message.find("t[3]"), std::string::npos) << fx.fatal->message;
  EXPECT_NE(fx.fatal->message.find("offset 116"), std::string::npos) << fx.fatal->message;
  EXPECT_TRUE(names_foreign_records(*fx.fatal));  // no advice about damaged segments
}

TEST_F(lane_test, an_ack_at_the_expected_offset_is_not_misplaced) {
  l_.set_target_next(40);
  l_.push(make_batch(0, 3), 0, ledger_);
  auto* a = send();
  l_.on_answer(a->id, ok(40));
  ASSERT_EQ(l_.settle(ledger_).size(), 1u);
  EXPECT_FALSE(l_.take_misplaced());
}

TEST_F(lane_test, an_ack_past_the_lanes_end_is_another_writers_records_named_with_their_offsets) {
  partition_state s{"src", 0, "t", 3, 0, 40, 0, 0, false, {}, {}};
  l_.set_target_next(40);
  l_.push(make_batch(100, 3), 0, ledger_);
  l_.push(make_batch(103, 2), 0, ledger_);
  auto* a = send();
  l_.on_answer(a->id, ok(56));  // 16 records of someone else at 40..55
  auto* b = send();
  l_.on_answer(b->id, ok(59));
  auto settled = l_.settle(ledger_);
  ASSERT_EQ(settled.size(), 2u);
  // Where our records really went is what the state records: a re-run neither skips nor repeats.
  for (const auto& x : settled) ASSERT_TRUE(record_settled(s, x));
  EXPECT_EQ(s.target_end, 61);
  EXPECT_EQ(s.map.translate(100), 56);
  auto m = l_.take_misplaced();
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->is(errc::corrupt));
  EXPECT_NE(m->message.find("t[3]"), std::string::npos) << m->message;
  EXPECT_NE(m->message.find("offsets 40..55"), std::string::npos) << m->message;
  EXPECT_TRUE(names_foreign_records(*m));
  EXPECT_FALSE(l_.take_misplaced());  // taken once
}

TEST_F(lane_test, a_lane_without_a_known_end_checks_no_offsets) {
  l_.push(make_batch(0, 3), 0, ledger_);
  auto* a = send();
  l_.on_answer(a->id, ok(500));
  ASSERT_EQ(l_.settle(ledger_).size(), 1u);
  EXPECT_FALSE(l_.take_misplaced());
}

TEST_F(lane_test, an_answer_for_an_unknown_batch_only_ends_its_flight) {
  l_.push(make_batch(0, 1), 0, ledger_);
  (void)send();
  const auto fx = l_.on_answer(9999, ok(0));
  EXPECT_FALSE(fx.fatal);
  EXPECT_EQ(l_.in_flight(), 0u);
  EXPECT_EQ(l_.queue()[0].st, status::in_flight);
}

TEST_F(lane_test, resume_skips_records_already_written) {
  partition_state s{"src", 0, "t", 3, 0, 20, 0, 0, false, {}, {}};
  l_.set_target_next(20);
  l_.add_skip(3);
  auto rest = l_.skip_written(make_batch(100, 5), s);
  ASSERT_TRUE(rest) << rest.error().message;
  ASSERT_TRUE(*rest);
  EXPECT_EQ((*rest)->record_count, 2);
  EXPECT_EQ((*rest)->sources.front().first, 103);
  EXPECT_EQ(l_.skip_records(), 0);
  EXPECT_EQ(l_.target_next(), 23);
  EXPECT_EQ(s.target_end, 23);
  EXPECT_EQ(s.next_source_offset, 103);
  EXPECT_EQ(s.records, 3u);
  EXPECT_EQ(s.map.translate(102), 22);

  auto untouched = l_.skip_written(make_batch(105, 2), s);
  ASSERT_TRUE(untouched && *untouched);
  EXPECT_EQ((*untouched)->record_count, 2);
}

TEST_F(lane_test, resume_skip_of_a_whole_batch_leaves_nothing_to_queue) {
  partition_state s{"src", 0, "t", -1, 0, -1, 0, 0, false, {}, {}};
  l_.set_target_next(0);
  l_.add_skip(10);
  auto rest = l_.skip_written(make_batch(0, 4), s);
  ASSERT_TRUE(rest);
  EXPECT_FALSE(*rest);
  EXPECT_EQ(l_.skip_records(), 6);
  EXPECT_TRUE(s.map.empty()) << "repartitioned partitions keep no offset map";
  EXPECT_EQ(s.records, 4u);
}

TEST(lane_record_settled, direct_partitions_map_offsets_and_move_their_ends) {
  partition_state s{"src", 0, "t", 3, 0, -1, 0, 0, false, {}, {}};
  settled_batch b{0, 70, make_batch(10, 4)};
  ASSERT_TRUE(record_settled(s, b));
  EXPECT_EQ(s.map.translate(12), 72);
  EXPECT_EQ(s.next_source_offset, 14);
  EXPECT_EQ(s.target_end, 74);
  EXPECT_EQ(s.records, 4u);
  EXPECT_EQ(s.bytes, b.batch.size);
  // Out of order: an error, but the records still count.
  settled_batch back{0, 90, make_batch(0, 2)};
  auto r = record_settled(s, back);
  ASSERT_FALSE(r);
  EXPECT_EQ(s.records, 6u);
}

TEST(lane_record_settled, repartitioned_partitions_count_only) {
  partition_state s{"src", 0, "t", -1, 5, -1, 0, 0, false, {}, {}};
  ASSERT_TRUE(record_settled(s, settled_batch{0, 70, make_batch(10, 4)}));
  EXPECT_TRUE(s.map.empty());
  EXPECT_EQ(s.next_source_offset, 5);
  EXPECT_EQ(s.target_end, -1);
  EXPECT_EQ(s.records, 4u);
}

}  // namespace
}  // namespace kb::pipeline::restore
