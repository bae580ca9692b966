// Format v1 against external truth: the committed fixtures under fixtures/v1 (written once by
// make_fixtures.cpp) must be read by today's readers and decode to the values written below by
// hand. A failure here means a build can no longer read backups made earlier: fix the reader,
// never the fixture.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "protocol/records/record_batch.hpp"
#include "storage/filesystem_store.hpp"
#include "storage/format/manifest.hpp"
#include "storage/format/segment.hpp"

namespace kb::storage::format {
namespace {

namespace fs = std::filesystem;

const fs::path root = KB_FORMAT_FIXTURES;
const std::string segment_key = "fixture/topics/orders/3/00000000000000000000-00000000000000000109.kbs";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in) << p;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string text(std::optional<byte_view> v) {
  return v ? std::string(reinterpret_cast<const char*>(v->data()), v->size()) : std::string("<null>");
}

TEST(format_v1_fixtures, backup_manifest) {
  auto m = parse_backup_manifest(slurp(root / "fixture/backup.json"));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->format_version, 1u);
  EXPECT_EQ(m->tool_version, "0.1.0-fixture");
  EXPECT_EQ(m->backup_id, "fixture");
  EXPECT_EQ(m->source_cluster_id, "FixtureClusterId000000");
  EXPECT_EQ(m->bootstrap_servers, std::vector<std::string>{"127.0.0.1:9092"});
  EXPECT_EQ(m->created_ms, 1700000000000);
  EXPECT_EQ(m->updated_ms, 1700000005000);
  EXPECT_EQ(m->mode, "one-shot");
  EXPECT_EQ(m->compression, "zstd");
  EXPECT_EQ(m->topics, std::vector<std::string>{"orders"});
  EXPECT_EQ(m->notes,
            std::vector<std::string>{"consumer group offsets were not captured for group 'denied': not authorized"});
  EXPECT_TRUE(m->not_followed.empty());
}

TEST(format_v1_fixtures, topic_manifest) {
  auto t = parse_topic_manifest(slurp(root / "fixture/topics/orders/topic.json"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->name, "orders");
  EXPECT_EQ(t->topic_id, "5f2c3a1e-7b4d-4e8f-9a60-1c2d3e4f5a6b");
  EXPECT_EQ(t->partition_count, 4);
  EXPECT_EQ(t->replication_factor, 3);
  EXPECT_FALSE(t->is_internal);
  EXPECT_EQ(t->configs, (std::map<std::string, std::string>{{"cleanup.policy", "delete"}, {"retention.ms", "604800000"}}));
}

TEST(format_v1_fixtures, checkpoint) {
  auto c = parse_checkpoint(slurp(root / "fixture/topics/orders/3/checkpoint.json"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->topic, "orders");
  EXPECT_EQ(c->partition, 3);
  EXPECT_EQ(c->next_offset, 110);
  EXPECT_EQ(c->last_segment, segment_key);
  EXPECT_EQ(c->segments, 1u);
  EXPECT_EQ(c->records, 9u);
  EXPECT_EQ(c->bytes_raw, 468u);  // 138 + 125 + 78 + 127, the four batches
  EXPECT_EQ(c->bytes_stored, 902u);
  EXPECT_EQ(c->first_offset, 0);
  EXPECT_EQ(c->min_timestamp, 1700000001000);
  EXPECT_EQ(c->max_timestamp, 1700000004001);
  EXPECT_EQ(c->gaps, (std::vector<offset_gap>{{0, 99}}));
  EXPECT_EQ(c->updated_ms, 1700000005000);
  EXPECT_TRUE(fs::is_regular_file(root / c->last_segment));
}

TEST(format_v1_fixtures, group_snapshot) {
  auto g = parse_group_snapshot(slurp(root / "fixture/groups/1700000005000.json"));
  ASSERT_TRUE(g) << g.error().message;
  EXPECT_EQ(g->captured_ms, 1700000005000);
  ASSERT_EQ(g->groups.size(), 2u);
  EXPECT_EQ(g->groups.at("billing"), (std::vector<group_offset>{{"orders", 3, 108, 7, "meta-1"}}));
  EXPECT_EQ(g->groups.at("audit"), (std::vector<group_offset>{{"orders", 3, 100, -1, ""}, {"orders", 0, 0, -1, ""}}));
}

/// A second set written by the same pre-Describe code: every optional backup.json field present.
TEST(format_v1_fixtures, backup_manifest_with_optional_fields) {
  auto m = parse_backup_manifest(slurp(root / "narrowed/backup.json"));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->format_version, 1u);
  EXPECT_EQ(m->backup_id, "narrowed");
  EXPECT_EQ(m->bootstrap_servers, (std::vector<std::string>{"127.0.0.1:9092", "127.0.0.1:9093"}));
  EXPECT_EQ(m->created_ms, 1700000000000);
  EXPECT_EQ(m->updated_ms, 1700000009000);
  EXPECT_EQ(m->mode, "continuous");
  EXPECT_EQ(m->compression, "lz4");
  EXPECT_EQ(m->topics, (std::vector<std::string>{"orders", "payments"}));
  EXPECT_EQ(m->notes, std::vector<std::string>{"DescribeConfigs denied on topic payments: topic configs not captured"});
  EXPECT_EQ(m->not_followed, std::vector<std::string>{"payments"});
  EXPECT_EQ(m->groups_not_captured,
            (std::vector<group_not_captured>{{"billing", "GROUP_AUTHORIZATION_FAILED: grant Describe on the group"},
                                             {"audit", ""}}));
}

TEST(format_v1_fixtures, internal_topic_manifest_without_configs) {
  auto t = parse_topic_manifest(slurp(root / "narrowed/topics/__consumer_offsets/topic.json"));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->name, "__consumer_offsets");
  EXPECT_EQ(t->topic_id, "");
  EXPECT_EQ(t->partition_count, 50);
  EXPECT_EQ(t->replication_factor, 1);
  EXPECT_TRUE(t->is_internal);
  EXPECT_TRUE(t->configs.empty());
}

TEST(format_v1_fixtures, lease) {
  auto l = parse_lease(slurp(root / "narrowed/lock.json"));
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(*l, (lease{"host-a:4242:9f3c", 1700000000000, 1700000030000}));
}

/// Today's writers still write these documents byte for byte as the fixtures were written (same
/// names, order, optional fields left out the same way).
TEST(format_v1_fixtures, documents_are_written_as_before) {
  for (const char* name : {"fixture/backup.json", "narrowed/backup.json"}) {
    const auto text = slurp(root / name);
    EXPECT_EQ(to_json(*parse_backup_manifest(text)), text) << name;
  }
  for (const char* name : {"fixture/topics/orders/topic.json", "narrowed/topics/__consumer_offsets/topic.json"}) {
    const auto text = slurp(root / name);
    EXPECT_EQ(to_json(*parse_topic_manifest(text)), text) << name;
  }
  const auto ckpt = slurp(root / "fixture/topics/orders/3/checkpoint.json");
  EXPECT_EQ(to_json(*parse_checkpoint(ckpt)), ckpt);
  const auto groups = slurp(root / "fixture/groups/1700000005000.json");
  EXPECT_EQ(to_json(*parse_group_snapshot(groups)), groups);
  const auto lock = slurp(root / "narrowed/lock.json");
  EXPECT_EQ(to_json(*parse_lease(lock)), lock);
}

TEST(format_v1_fixtures, segment_index) {
  const auto bytes = slurp(root / segment_key);
  ASSERT_EQ(bytes.size(), 902u);
  auto idx = parse_segment(as_bytes(bytes));
  ASSERT_TRUE(idx) << idx.error().message;
  EXPECT_EQ(idx->header, (segment_header{"orders", 3, frame_codec::zstd, 1700000000000}));
  EXPECT_EQ(idx->file_size, 902u);
  EXPECT_EQ(idx->first_offset(), 0);
  EXPECT_EQ(idx->last_offset(), 109);
  EXPECT_EQ(idx->record_count(), 9u);
  EXPECT_EQ(idx->raw_bytes(), 468u);
  EXPECT_EQ(idx->gaps, (std::vector<offset_gap>{{0, 99}}));
  EXPECT_EQ(idx->txns, (std::vector<txn_span>{{42, 1, 104, 107, txn_outcome::committed}}));

  // Frames of at least 200 raw bytes: [plain, transactional] and [marker, lz4 batch].
  ASSERT_EQ(idx->frames.size(), 2u);
  const auto& f0 = idx->frames[0];
  EXPECT_EQ(f0.raw_size, 263u);
  EXPECT_EQ(f0.first_batch, 0u);
  EXPECT_EQ(f0.batch_count, 2u);
  EXPECT_EQ(f0.first_offset, 100);
  EXPECT_EQ(f0.last_offset, 106);
  EXPECT_EQ(f0.min_timestamp, 1700000001000);
  EXPECT_EQ(f0.max_timestamp, 1700000002002);
  EXPECT_LT(f0.stored_size, f0.raw_size);  // really compressed
  const auto& f1 = idx->frames[1];
  EXPECT_EQ(f1.raw_size, 205u);
  EXPECT_EQ(f1.first_batch, 2u);
  EXPECT_EQ(f1.batch_count, 2u);
  EXPECT_EQ(f1.first_offset, 107);
  EXPECT_EQ(f1.last_offset, 109);
  EXPECT_EQ(f1.file_offset, f0.file_offset + f0.stored_size);

  namespace bf = batch_flags;
  const std::vector<batch_entry> expected{
      {100, 103, 1700000001000, 1700000001003, 4, 0, -1, -1, -1, 0, 0, 138},
      {104, 106, 1700000002000, 1700000002002, 3, bf::transactional, 42, 1, 0, 0, 138, 125},
      {107, 107, 1700000003000, 1700000003000, 1, bf::control | bf::transactional | bf::commit_marker, 42, 1, -1, 1, 0,
       78},
      {108, 109, 1700000004000, 1700000004001, 2, 0, -1, -1, -1, 1, 78, 127},
  };
  EXPECT_EQ(idx->batches, expected);
}

/// The records of every batch, read through the object store's range reads as a restore does.
TEST(format_v1_fixtures, records_through_range_reads) {
  filesystem_store store(root);
  auto idx = read_segment_index(store, segment_key);
  ASSERT_TRUE(idx) << idx.error().message;
  std::vector<std::string> rows;
  for (std::uint32_t f = 0; f < idx->frames.size(); ++f) {
    auto raw = read_frame(store, segment_key, *idx, f);
    ASSERT_TRUE(raw) << raw.error().message;
    ASSERT_EQ(raw->size(), idx->frames[f].raw_size);
    for (const auto& b : idx->batches) {
      if (b.frame != f) continue;
      shared_bytes batch(byte_vector(raw->begin() + b.position, raw->begin() + b.position + b.size));
      auto records = protocol::read_records(batch);
      ASSERT_TRUE(records) << records.error().message;
      for (const auto& r : *records) {
        std::string row = std::to_string(r.offset) + " " + std::to_string(r.timestamp) + " " + text(r.key) + "=" +
                          text(r.value);
        for (const auto& h : r.headers) row += " [" + text(h.key) + ":" + text(h.value) + "]";
        if (b.flags & batch_flags::control) {
          auto c = protocol::parse_control_record(r);
          ASSERT_TRUE(c) << c.error().message;
          row = std::to_string(r.offset) + " marker " + (c->type == protocol::control_type::commit ? "commit" : "abort") +
                " epoch " + std::to_string(c->coordinator_epoch);
        }
        rows.push_back(row);
      }
    }
  }
  const std::vector<std::string> expected{
      "100 1700000001000 k100=value-100 [h:trace-1]",
      "101 1700000001001 <null>=value-101",
      "102 1700000001002 k102=value-102",
      "103 1700000001003 k103=<null>",
      "104 1700000002000 t104=txn-104 [h:trace-1]",
      "105 1700000002001 t105=txn-105",
      "106 1700000002002 t106=txn-106",
      "107 marker commit epoch 5",
      "108 1700000004000 c108=" + std::string(64, 'x') + " [h:trace-1]",
      "109 1700000004001 c109=" + std::string(64, 'y'),
  };
  EXPECT_EQ(rows, expected);
}

}  // namespace
}  // namespace kb::storage::format
