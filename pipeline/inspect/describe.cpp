// inspect describe: one backup's topics, partitions, offsets, counts, sizes and gaps from its
// manifests, checkpoints and segment index footers (docs/describe-json.md).
#include "pipeline/inspect/inspect.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include <boost/describe/class.hpp>
#include <boost/json/value_from.hpp>
#include <fmt/format.h>

#include "pipeline/backup/worker_marks.hpp"
#include "pipeline/inspect/backup_objects.hpp"
#include "storage/format/json_map.hpp"
#include "storage/format/json_text.hpp"
#include "storage/format/manifest_json.hpp"
#include "storage/format/segment.hpp"
#include "storage/format/segment_chain.hpp"
#include "storage/format/segment_overlap.hpp"

namespace kb::pipeline::inspect {

namespace sf = storage::format;
namespace json = boost::json;
using sf::merge_gaps;

namespace {

/// Adds one segment's index to a partition summary; batches an earlier segment already covered
/// (overlap after a resumed backup) count once, as the restore counts them.
void add_segment(partition_summary& p, const sf::segment_index& idx, std::uint64_t object_size, std::int64_t& next) {
  p.segments += 1;
  p.bytes_stored += object_size;
  for (const auto& b : idx.batches) {
    if (b.last_offset < next) continue;
    next = b.last_offset + 1;
    p.batches += 1;
    p.bytes_raw += b.size;
    // A batch the log start fell inside counts from the start (its leading offsets are a gap).
    const std::int64_t live = sf::live_first_offset(idx, b);
    if (p.first_offset < 0) p.first_offset = live;
    p.last_offset = b.last_offset;
    if ((b.flags & sf::batch_flags::control) != 0) continue;
    if (b.record_count > 0)
      p.records += static_cast<std::uint64_t>(std::max<std::int64_t>(0, b.record_count - (live - b.first_offset)));
    for (auto ts : {b.first_timestamp, b.max_timestamp})
      if (ts >= 0 && (p.min_timestamp < 0 || ts < p.min_timestamp)) p.min_timestamp = ts;
    p.max_timestamp = std::max(p.max_timestamp, b.max_timestamp);
  }
  p.gaps.insert(p.gaps.end(), idx.gaps.begin(), idx.gaps.end());
}

/// The terms of a partition's owner record, each with the segments that begin in its range: from
/// its first offset up to its own end, or else the next term's start (a term that lost its
/// session recorded no end; its last segment may overlap the next owner's, by design).
std::vector<owner_summary> owner_terms(const std::string& group_id, const std::vector<pipeline::backup::owner_term>& terms,
                                       const partition_objects* po) {
  std::vector<owner_summary> out;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    const auto& t = terms[i];
    owner_summary o{group_id, t.member_id, t.instance_id, t.generation, t.assigned_ms, t.first_offset, t.next_offset,
                    t.ended_ms, 0};
    const std::int64_t from = std::max<std::int64_t>(t.first_offset, 0);
    std::int64_t to = std::numeric_limits<std::int64_t>::max();
    if (t.next_offset >= 0) to = t.next_offset;
    else if (i + 1 < terms.size() && terms[i + 1].first_offset >= 0) to = terms[i + 1].first_offset;
    if (po)
      for (const auto& seg : po->segments)
        if (seg.first >= from && seg.first < to) o.segments += 1;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

kb::result<backup_description> describe_backup(storage::object_store& store, std::string_view backup_id) {
  if (auto r = require_backup(store, backup_id); !r) return fail(std::move(r.error()));
  const sf::backup_paths paths{std::string(backup_id)};
  backup_description d;
  auto manifest = read_json<sf::backup_manifest>(store, paths.backup_manifest(), sf::parse_backup_manifest);
  if (!manifest) return fail(std::move(manifest.error()));
  d.manifest = std::move(*manifest);
  auto objs = scan(store, paths);
  if (!objs) return fail(std::move(objs.error()));
  // A backup run by workers: who owned which partition (none for a single process).
  auto owner_records = pipeline::backup::read_owners(store, paths);
  if (!owner_records) return fail(std::move(owner_records.error()));

  for (const auto& name : topic_order(&d.manifest, *objs)) {
    topic_summary ts;
    ts.name = name;
    ts.followed = std::find(d.manifest.not_followed.begin(), d.manifest.not_followed.end(), name) ==
                  d.manifest.not_followed.end();
    const auto found = objs->topics.find(name);
    const topic_objects empty;
    const topic_objects& to = found == objs->topics.end() ? empty : found->second;
    auto tm = read_json<sf::topic_manifest>(store, paths.topic_manifest(name), sf::parse_topic_manifest);
    if (tm) ts.partition_count = tm->partition_count;
    else if (!tm.error().is(errc::not_found)) return fail(std::move(tm.error()));
    if (!to.partitions.empty()) ts.partition_count = std::max(ts.partition_count, to.partitions.rbegin()->first + 1);
    for (std::int32_t p = 0; p < ts.partition_count; ++p) {
      partition_summary ps;
      ps.partition = p;
      const auto pit = to.partitions.find(p);
      if (pit != to.partitions.end()) {
        const auto& po = pit->second;
        std::int64_t next = std::numeric_limits<std::int64_t>::min();
        for (const auto& seg : po.segments) {
          auto idx = sf::read_segment_index(store, seg.object.key, seg.object.size);
          if (!idx)
            return fail(idx.error().code, fmt::format("{} (run 'kafka-backup validate' for a full report)", idx.error().message));
          add_segment(ps, *idx, seg.object.size, next);
        }
        if (po.checkpoint) {
          auto c = read_json<sf::partition_checkpoint>(store, po.checkpoint->key, sf::parse_checkpoint);
          if (!c) return fail(std::move(c.error()));
          ps.next_offset = c->next_offset;
          ps.gaps.insert(ps.gaps.end(), c->gaps.begin(), c->gaps.end());
        }
        ps.gaps = merge_gaps(std::move(ps.gaps));
      }
      for (const auto& [tp, rec] : *owner_records)
        if (tp.topic == name && tp.partition == p)
          ps.owners = owner_terms(rec.group_id, rec.terms(), pit == to.partitions.end() ? nullptr : &pit->second);
      d.records += ps.records;
      d.bytes_raw += ps.bytes_raw;
      d.bytes_stored += ps.bytes_stored;
      d.segments += ps.segments;
      d.gaps += ps.gaps.size();
      ts.partitions.push_back(std::move(ps));
    }
    d.topics.push_back(std::move(ts));
  }
  return d;
}

namespace {

/// "        written by M (instance I), group G generation N, assigned T: offsets A..B, S segments"
std::string owner_line(const owner_summary& o) {
  const std::string who = o.instance_id.empty() ? o.member_id : fmt::format("{} (instance {})", o.member_id, o.instance_id);
  const std::string from = o.first_offset < 0 ? std::string("start") : std::to_string(o.first_offset);
  const std::string to = o.next_offset >= 0 ? fmt::format("{} (ended {})", o.next_offset - 1, when(o.ended_ms))
                                            : std::string("? (running, or lost its session)");
  return fmt::format("        written by {}, group {} generation {}, assigned {}: offsets {}..{}, {} segment{}\n", who,
                     o.group_id, o.generation, when(o.assigned_ms), from, to, o.segments, o.segments == 1 ? "" : "s");
}

}  // namespace

std::string describe_text(const backup_description& d) {
  const auto& m = d.manifest;
  std::string out;
  out += fmt::format("Backup {}\n", m.backup_id);
  out += fmt::format("  format version  {}\n", m.format_version);
  out += fmt::format("  written by      kafka-backup {}\n", m.tool_version.empty() ? "?" : m.tool_version);
  out += fmt::format("  source cluster  {}\n", m.source_cluster_id.empty() ? "(unknown)" : m.source_cluster_id);
  out += fmt::format("  mode            {}, compression {}\n", m.mode, m.compression);
  out += fmt::format("  created         {}\n", when(m.created_ms));
  out += fmt::format("  updated         {}\n", when(m.updated_ms));
  for (const auto& n : m.notes) out += fmt::format("  note            {}\n", n);
  for (const auto& g : m.groups_not_captured)
    out += fmt::format("  group missing   {}: offsets not captured ({})\n", g.group, g.reason);
  for (const auto& t : d.topics) {
    out += fmt::format("\nTopic {} ({} partition{}){}\n", t.name, t.partition_count, t.partition_count == 1 ? "" : "s",
                       t.followed ? "" : " — no longer followed: the latest run's source.topics does not select it");
    out += fmt::format("  {:>4}  {:>12}  {:>12}  {:>10}  {:>10}  {:>10}  {:>8}  {:<24}  {:<24}\n", "PART", "FIRST",
                       "LAST", "RECORDS", "RAW", "STORED", "SEGMENTS", "MIN TIMESTAMP", "MAX TIMESTAMP");
    for (const auto& p : t.partitions) {
      out += fmt::format("  {:>4}  {:>12}  {:>12}  {:>10}  {:>10}  {:>10}  {:>8}  {:<24}  {:<24}\n", p.partition,
                         p.first_offset < 0 ? std::string("-") : std::to_string(p.first_offset),
                         p.last_offset < 0 ? std::string("-") : std::to_string(p.last_offset), p.records,
                         human_bytes(p.bytes_raw), human_bytes(p.bytes_stored), p.segments, when(p.min_timestamp),
                         when(p.max_timestamp));
      for (const auto& g : p.gaps)
        out += fmt::format("        gap {}..{} ({} offsets lost to retention before the backup read them)\n",
                           g.first_offset, g.last_offset, g.last_offset - g.first_offset + 1);
      for (const auto& o : p.owners) out += owner_line(o);
    }
  }
  out += fmt::format("\nTotal: {} records, {} raw, {} stored, {} segments, {} gaps\n", d.records,
                     human_bytes(d.bytes_raw), human_bytes(d.bytes_stored), d.segments, d.gaps);
  return out;
}

// The JSON of docs/describe-json.md: the summaries map 1:1 (in the documented order), the root
// flattens the manifest beside the topics and totals.
using json_map::tag_invoke;

BOOST_DESCRIBE_STRUCT(owner_summary, (),
                      (group_id, member_id, instance_id, generation, assigned_ms, first_offset, next_offset, ended_ms,
                       segments))
BOOST_DESCRIBE_STRUCT(partition_summary, (),
                      (partition, first_offset, last_offset, records, batches, bytes_raw, bytes_stored, min_timestamp,
                       max_timestamp, segments, next_offset, gaps, owners))
BOOST_DESCRIBE_STRUCT(topic_summary, (), (name, partition_count, followed, partitions))

static void tag_invoke(json::value_from_tag /*tag*/, json::value& v, const backup_description& d) {
  const auto& m = d.manifest;
  v = json::object{{"backup_id", m.backup_id},
                   {"format_version", m.format_version},
                   {"tool_version", m.tool_version},
                   {"source_cluster_id", m.source_cluster_id},
                   {"bootstrap_servers", json::value_from(m.bootstrap_servers)},
                   {"mode", m.mode},
                   {"compression", m.compression},
                   {"created_ms", m.created_ms},
                   {"updated_ms", m.updated_ms},
                   {"topics", json::value_from(d.topics)},
                   {"groups_not_captured", json::value_from(m.groups_not_captured)},
                   {"totals", json::object{{"records", d.records},
                                           {"bytes_raw", d.bytes_raw},
                                           {"bytes_stored", d.bytes_stored},
                                           {"segments", d.segments},
                                           {"gaps", d.gaps}}}};
}

std::string describe_json(const backup_description& d) { return sf::json_text::pretty(json::value_from(d)); }

}  // namespace kb::pipeline::inspect
