// The backup set's JSON documents (round trips, rejection of bad fields and versions), the key
// layout, and the writer's lease on a real filesystem store (conflict, expiry, renewal).
#include "storage/format/manifest.hpp"

#include <gtest/gtest.h>

#include "storage/filesystem_store.hpp"
#include "tests/storage/format/test_batches.hpp"

namespace kb::storage::format {
namespace {

TEST(Paths, LayoutOfDesignSection5) {
  backup_paths p{"orders-daily"};
  EXPECT_EQ(p.root(), "orders-daily/");
  EXPECT_EQ(p.backup_manifest(), "orders-daily/backup.json");
  EXPECT_EQ(p.lock(), "orders-daily/lock.json");
  EXPECT_EQ(p.topic_manifest("payments"), "orders-daily/topics/payments/topic.json");
  EXPECT_EQ(p.partition_dir("payments", 12), "orders-daily/topics/payments/12/");
  EXPECT_EQ(p.segment("payments", 12, 100, 199),
            "orders-daily/topics/payments/12/00000000000000000100-00000000000000000199.kbs");
  EXPECT_EQ(p.checkpoint("payments", 0), "orders-daily/topics/payments/0/checkpoint.json");
  EXPECT_EQ(p.groups_dir(), "orders-daily/groups/");
  EXPECT_EQ(p.group_snapshot(1736899200000), "orders-daily/groups/1736899200000.json");
  EXPECT_EQ(p.restore_dir("r1"), "orders-daily/restores/r1/");
}

TEST(Paths, SegmentFileNamesParse) {
  auto r = parse_segment_file_name("b/topics/t/0/00000000000000000100-00000000000000000199.kbs");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 100);
  EXPECT_EQ(r->second, 199);
  EXPECT_TRUE(parse_segment_file_name("00000000000000000000-00000000000000000000.kbs"));
  EXPECT_FALSE(parse_segment_file_name("checkpoint.json"));
  EXPECT_FALSE(parse_segment_file_name("00000000000000000200-00000000000000000199.kbs")) << "backwards";
  EXPECT_FALSE(parse_segment_file_name("0000000000000000010-000000000000000000199.kbs")) << "misplaced dash";
  EXPECT_FALSE(parse_segment_file_name("0000000000000000010x-00000000000000000199.kbs"));
  EXPECT_FALSE(parse_segment_file_name("00000000000000000100-00000000000000000199.kbs.tmp"));
  EXPECT_FALSE(parse_segment_file_name("99999999999999999999-99999999999999999999.kbs")) << "beyond int64";
}

backup_manifest sample_backup() {
  backup_manifest m;
  m.tool_version = "0.1.0";
  m.backup_id = "orders-daily";
  m.source_cluster_id = "MkU3OEVBNTcwNTJENDM2Qk";
  m.bootstrap_servers = {"127.0.0.1:9092", "127.0.0.1:9093"};
  m.created_ms = 1736899200000;
  m.updated_ms = 1736899260000;
  m.mode = "one-shot";
  m.compression = "zstd";
  m.topics = {"orders", "payments"};
  return m;
}

TEST(Manifest, BackupRoundTrip) {
  const auto m = sample_backup();
  const std::string text = to_json(m);
  EXPECT_NE(text.find("\n  \"backup_id\": \"orders-daily\""), std::string::npos) << "indented for people:\n" << text;
  auto back = parse_backup_manifest(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, m);
  auto with_notes = m;
  with_notes.notes = {"DescribeConfigs denied on topic orders: topic configs not captured"};
  auto again = parse_backup_manifest(to_json(with_notes));
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, with_notes);
  EXPECT_EQ(to_json(m).find("not_followed"), std::string::npos) << "absent when every topic is followed";
  auto narrowed = m;
  narrowed.not_followed = {"payments"};
  auto third = parse_backup_manifest(to_json(narrowed));
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(*third, narrowed);
  // Groups a snapshot could not read (issue #12 item 3); manifests without the field stay readable.
  auto with_groups = m;
  with_groups.groups_not_captured = {{"billing", "GROUP_AUTHORIZATION_FAILED"}};
  const auto groups_text = to_json(with_groups);
  EXPECT_NE(groups_text.find("\"groups_not_captured\""), std::string::npos) << groups_text;
  auto fourth = parse_backup_manifest(groups_text);
  ASSERT_TRUE(fourth) << fourth.error().message;
  EXPECT_EQ(*fourth, with_groups);
  EXPECT_EQ(to_json(m).find("groups_not_captured"), std::string::npos);
  auto bad = parse_backup_manifest(R"({"format_version": 1, "tool_version": "0", "backup_id": "b",
    "source_cluster_id": "c", "bootstrap_servers": [], "created_ms": 5, "updated_ms": 6, "mode": "snapshot",
    "compression": "lz4", "topics": [], "groups_not_captured": ["billing"]})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("groups_not_captured"), std::string::npos) << bad.error().message;
}

TEST(Manifest, BackupReadsAHandWrittenDocument) {
  // Written by hand from docs/format.md, not by to_json; unknown fields are ignored.
  const std::string text = R"({"format_version": 1, "tool_version": "0.1.0", "backup_id": "b",
    "source_cluster_id": "c", "bootstrap_servers": ["h:1"], "created_ms": 5, "updated_ms": 6,
    "mode": "snapshot", "compression": "lz4", "topics": ["t"], "future_field": {"x": 1}})";
  auto m = parse_backup_manifest(text);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->backup_id, "b");
  EXPECT_EQ(m->mode, "snapshot");
  EXPECT_EQ(m->compression, "lz4");
  EXPECT_EQ(m->created_ms, 5);
  EXPECT_EQ(m->topics, std::vector<std::string>{"t"});
  EXPECT_TRUE(m->not_followed.empty()) << "a manifest without not_followed follows every topic";
}

TEST(Manifest, BackupRejectsBadFields) {
  const std::string good = to_json(sample_backup());
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  struct bad_case {
    std::string text;
    std::string needle;
  };
  const std::vector<bad_case> cases = {
      {replaced("\"backup_id\": \"orders-daily\"", "\"backup_id\": 7"), "'backup_id' is not a string"},
      {replaced("\"backup_id\": \"orders-daily\",", ""), "'backup_id' is missing"},
      {replaced("\"created_ms\": 1736899200000", "\"created_ms\": \"yesterday\""), "'created_ms' is not an integer"},
      {replaced("\"compression\": \"zstd\"", "\"compression\": \"brotli\""), "'compression' is 'brotli'"},
      {replaced("\"orders\",", "3,"), "'topics[0]' is not a string"},
      {"[1, 2]", "not a JSON object"},
      {"{\"format_version\": 1,", "not valid JSON"},
      {"", "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto r = parse_backup_manifest(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_TRUE(r.error().is(errc::corrupt)) << r.error().message;
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("backup.json"), std::string::npos) << r.error().message;
  }
}

TEST(Manifest, BackupUnknownVersionIsUnsupported) {
  std::string text = to_json(sample_backup());
  text.replace(text.find("\"format_version\": 1"), 19, "\"format_version\": 2");
  auto r = parse_backup_manifest(text);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::unsupported)) << r.error().message;
}

TEST(Manifest, TopicRoundTripAndRejection) {
  topic_manifest t;
  t.name = "orders";
  t.topic_id = "0b7a3f1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
  t.partition_count = 6;
  t.replication_factor = 3;
  t.configs = {{"cleanup.policy", "compact"}, {"retention.ms", "604800000"}};
  auto back = parse_topic_manifest(to_json(t));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, t);
  auto r = parse_topic_manifest(R"({"name":"x","topic_id":"","partition_count":2,"replication_factor":1,
                                    "is_internal":false,"configs":{"a":1}})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'configs[\"a\"]' is not a string"), std::string::npos) << r.error().message;
  auto big = parse_topic_manifest(R"({"name":"x","topic_id":"","partition_count":2,"replication_factor":70000,
                                      "is_internal":false,"configs":{}})");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("'replication_factor' is out of range"), std::string::npos);
}

TEST(Manifest, CheckpointRoundTripAndRejection) {
  partition_checkpoint c;
  c.topic = "orders";
  c.partition = 2;
  c.next_offset = 2000;
  c.last_segment = backup_paths{"b"}.segment("orders", 2, 1000, 1999);
  c.segments = 2;
  c.records = 1900;
  c.bytes_raw = 123456;
  c.bytes_stored = 23456;
  c.first_offset = 0;
  c.min_timestamp = 1736899200000;
  c.max_timestamp = 1736899300000;
  c.gaps = {{500, 599}};
  c.updated_ms = 1736899400000;
  auto back = parse_checkpoint(to_json(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);

  std::string text = to_json(c);
  std::string neg = text;
  neg.replace(neg.find("\"next_offset\": 2000"), 19, "\"next_offset\": -5");
  auto r = parse_checkpoint(neg);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'next_offset' is negative"), std::string::npos) << r.error().message;
  std::string gap = text;
  gap.replace(gap.find("\"last_offset\": 599"), 18, "\"last_offset\": 499");
  auto g = parse_checkpoint(gap);
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("'gaps[0]' runs 500..499"), std::string::npos) << g.error().message;
  std::string seg = text;
  seg.replace(seg.find(".kbs"), 4, ".bin");
  auto s = parse_checkpoint(seg);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("'last_segment'"), std::string::npos) << s.error().message;
}

TEST(Manifest, GroupSnapshotRoundTrip) {
  group_snapshot g;
  g.captured_ms = 1736899200000;
  g.groups["billing"] = {{"orders", 0, 42, 5, ""}, {"orders", 1, 17, -1, "meta"}};
  g.groups["empty"] = {};
  auto back = parse_group_snapshot(to_json(g));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, g);
  auto bad = parse_group_snapshot(R"({"captured_ms": 1, "groups": {"g": [{"topic": "t", "partition": 0}]}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'groups[\"g\"][0].offset' is missing"), std::string::npos) << bad.error().message;
}

/// Numbers outside a field's type are refused, never wrapped; errors name the nested path.
TEST(Manifest, IntegersAreRangeCheckedAndErrorsNameThePath) {
  const std::string ckpt = R"({"topic": "t", "partition": 0, "next_offset": NEXT, "last_segment": "",
    "segments": SEGMENTS, "records": 0, "bytes_raw": 0, "bytes_stored": 0, "first_offset": -1, "min_timestamp": -1,
    "max_timestamp": -1, "gaps": GAPS, "updated_ms": 0})";
  auto with = [&](std::string next, std::string segments, std::string gaps) {
    std::string s = ckpt;
    s.replace(s.find("NEXT"), 4, next);
    s.replace(s.find("SEGMENTS"), 8, segments);
    s.replace(s.find("GAPS"), 4, gaps);
    return parse_checkpoint(s);
  };
  ASSERT_TRUE(with("9223372036854775807", "18446744073709551615", "[]")) << "the largest values fit";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {with("9223372036854775808", "0", "[]").error().message, "'next_offset' is out of range"},
      {with("1.5", "0", "[]").error().message, "'next_offset' is not an integer"},
      {with("\"7\"", "0", "[]").error().message, "'next_offset' is not an integer"},
      {with("0", "-1", "[]").error().message, "'segments' is out of range"},
      {with("0", "0", R"([{"first_offset": 1, "last_offset": 2}, {"first_offset": 3}])").error().message,
       "'gaps[1].last_offset' is missing"},
      {with("0", "0", R"([{"first_offset": 1, "last_offset": 2}, 7])").error().message, "'gaps[1]' is not an object"},
      {with("0", "0", "{}").error().message, "'gaps' is not an array"},
  };
  for (const auto& [message, needle] : bad) {
    EXPECT_NE(message.find("checkpoint.json: field " + needle), std::string::npos) << message;
  }
  auto ok = with("5", "1", R"([{"first_offset": 1, "last_offset": 2, "note": "unknown fields are ignored"}])");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->gaps, (std::vector<offset_gap>{{1, 2}}));
  auto group = parse_backup_manifest(R"({"format_version": 1, "tool_version": "0", "backup_id": "b",
    "source_cluster_id": "c", "bootstrap_servers": [], "created_ms": 5, "updated_ms": 6, "mode": "snapshot",
    "compression": "lz4", "topics": [], "groups_not_captured": [{"group": "a"}, {"reason": "r"}]})");
  ASSERT_FALSE(group);
  EXPECT_NE(group.error().message.find("'groups_not_captured[1].group' is missing"), std::string::npos)
      << group.error().message;
  auto epoch = parse_group_snapshot(
      R"({"captured_ms": 1, "groups": {"g": [{"topic": "t", "partition": 0, "offset": 1, "leader_epoch": 2147483648}]}})");
  ASSERT_FALSE(epoch);
  EXPECT_NE(epoch.error().message.find("'groups[\"g\"][0].leader_epoch' is out of range"), std::string::npos)
      << epoch.error().message;
}

TEST(Manifest, LeaseRoundTrip) {
  lease l{"host:123:abcd", 1000, 61000};
  auto back = parse_lease(to_json(l));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, l);
  EXPECT_FALSE(parse_lease(R"({"owner": "", "acquired_ms": 1, "expires_ms": 2})"));
}

// --- the lease on a real store ---------------------------------------------------------------

class Lease : public ::testing::Test {
 protected:
  testing::temp_dir dir_;
  filesystem_store store_{dir_.path()};
  backup_paths paths_{"b1"};
};

TEST_F(Lease, SecondWriterConflictsUntilExpiry) {
  auto a = acquire_lease(store_, paths_, "host-a:1:x", 1000, 30000);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->expires_ms, 31000);
  auto stored = store_.get("b1/lock.json");
  ASSERT_TRUE(stored);
  EXPECT_EQ(parse_lease(as_text(*stored))->owner, "host-a:1:x");

  auto b = acquire_lease(store_, paths_, "host-b:2:y", 20000, 30000);
  ASSERT_FALSE(b);
  EXPECT_TRUE(b.error().is(errc::conflict));
  EXPECT_NE(b.error().message.find("host-a:1:x"), std::string::npos) << b.error().message;
  EXPECT_NE(b.error().message.find("b1/lock.json"), std::string::npos) << b.error().message;
  EXPECT_NE(b.error().message.find("expires in 11 s"), std::string::npos) << b.error().message;

  // At exactly expires_ms the lease still holds; one ms later it may be taken over.
  EXPECT_FALSE(acquire_lease(store_, paths_, "host-b:2:y", 31000, 30000));
  auto taken = acquire_lease(store_, paths_, "host-b:2:y", 31001, 30000);
  ASSERT_TRUE(taken) << taken.error().message;
  EXPECT_EQ(taken->owner, "host-b:2:y");

  // The old owner finds out at its next renewal, and its release leaves the new lease alone.
  auto renew = renew_lease(store_, paths_, *a, 32000, 30000);
  ASSERT_FALSE(renew);
  EXPECT_TRUE(renew.error().is(errc::conflict));
  EXPECT_NE(renew.error().message.find("host-b:2:y"), std::string::npos) << renew.error().message;
  ASSERT_TRUE(release_lease(store_, paths_, *a));
  EXPECT_TRUE(store_.head("b1/lock.json")) << "not ours to remove";
}

TEST_F(Lease, RenewExtendsAndReleaseRemoves) {
  auto a = acquire_lease(store_, paths_, "me", 1000, 10000);
  ASSERT_TRUE(a);
  auto r = renew_lease(store_, paths_, *a, 8000, 10000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->acquired_ms, 1000);
  EXPECT_EQ(r->expires_ms, 18000);
  EXPECT_EQ(parse_lease(as_text(*store_.get("b1/lock.json")))->expires_ms, 18000);
  EXPECT_FALSE(acquire_lease(store_, paths_, "other", 12000, 10000)) << "renewal moved the expiry";
  ASSERT_TRUE(release_lease(store_, paths_, *r));
  auto gone = store_.head("b1/lock.json");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().is(errc::not_found));
  EXPECT_TRUE(acquire_lease(store_, paths_, "other", 12000, 10000));
}

TEST_F(Lease, SameOwnerReacquires) {
  ASSERT_TRUE(acquire_lease(store_, paths_, "me", 1000, 10000));
  auto again = acquire_lease(store_, paths_, "me", 2000, 10000);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->acquired_ms, 1000);
  EXPECT_EQ(again->expires_ms, 12000);
}

TEST_F(Lease, UnreadableLockIsReportedNotOverwritten) {
  ASSERT_TRUE(store_.put("b1/lock.json", as_bytes("garbage")));
  auto r = acquire_lease(store_, paths_, "me", 1000, 10000);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(errc::corrupt));
  EXPECT_NE(r.error().message.find("remove that object"), std::string::npos) << r.error().message;
  EXPECT_EQ(as_text(*store_.get("b1/lock.json")), "garbage");
}

TEST_F(Lease, RemovedLeaseIsRetakenOnRenew) {
  auto a = acquire_lease(store_, paths_, "me", 1000, 10000);
  ASSERT_TRUE(a);
  ASSERT_TRUE(store_.remove("b1/lock.json"));
  auto r = renew_lease(store_, paths_, *a, 2000, 10000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(parse_lease(as_text(*store_.get("b1/lock.json")))->owner, "me");
}

}  // namespace
}  // namespace kb::storage::format
