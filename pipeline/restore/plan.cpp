// Restore planning: reads only metadata and index footers, never frame data.
#include "pipeline/restore/plan.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "pipeline/backup/topic_selection.hpp"
#include "pipeline/restore/verify_chain.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::restore {

namespace sf = storage::format;

namespace {

std::string text_of(const byte_vector& b) { return std::string(b.begin(), b.end()); }

bool selected(const plan_options& o, const std::string& topic) {
  bool in = o.include.empty();
  for (const auto& p : o.include) in = in || topic_matches(p, topic);
  if (!in) return false;
  for (const auto& p : o.exclude)
    if (topic_matches(p, topic)) return false;
  return true;
}

// The repartitioning rule of one restored topic. Keys are source topic names (as users write
// them) or, as the reference tool has it, target names; both for one topic is ambiguous.
using rule_entry = const std::pair<const std::string, repartition_rule>*;  ///< nullptr: none
kb::result<rule_entry> repartition_rule_for(const plan_options& o, const std::string& source,
                                                           const std::string& target) {
  auto by_source = o.repartitioning.find(source);
  auto by_target = o.repartitioning.find(target);
  if (by_source != o.repartitioning.end() && by_target != o.repartitioning.end() && by_source != by_target) {
    return fail(errc::config, fmt::format("restore.repartitioning has entries for both '{}' and '{}', which are the "
                                          "same restored topic (topic_mapping {} -> {}): keep one, keyed by the source "
                                          "topic name '{}'",
                                          source, target, source, target, source));
  }
  if (by_source != o.repartitioning.end()) return &*by_source;
  if (by_target != o.repartitioning.end()) return &*by_target;
  return rule_entry{nullptr};
}

// Every repartitioning key must name a restored topic: a misspelt one was silently ignored.
kb::result<void> check_repartition_keys(const plan_options& o, const restore_plan& plan, const std::set<std::string>& used) {
  for (const auto& [key, rule] : o.repartitioning) {
    (void)rule;
    if (used.contains(key)) continue;
    const bool in_backup = std::find(plan.backup.topics.begin(), plan.backup.topics.end(), key) != plan.backup.topics.end();
    std::string restored;
    for (const auto& t : plan.topics) restored += (restored.empty() ? "" : ", ") + t.source;
    return fail(errc::config,
                in_backup ? fmt::format("restore.repartitioning.{}: topic '{}' is in the backup but this restore does not "
                                        "restore it (target.topics include/exclude); remove the entry or select the topic",
                                        key, key)
                          : fmt::format("restore.repartitioning.{}: no restored topic is named '{}' (as a source topic or "
                                        "a topic_mapping target); key it by the source topic name{}",
                                        key, key, restored.empty() ? std::string() : " (restored: " + restored + ")"));
  }
  return {};
}

}  // namespace

bool topic_matches(std::string_view pattern, std::string_view name) {
  // The backup's matcher, so both sides read a pattern alike; build_plan refuses a bad regex first.
  const auto m = backup::pattern_matches(pattern, name);
  return m && *m;
}

std::uint64_t restore_plan::records() const noexcept {
  std::uint64_t n = 0;
  for (const auto& p : partitions) n += p.records;
  return n;
}
std::uint64_t restore_plan::bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& p : partitions) n += p.bytes;
  return n;
}

namespace {

kb::result<void> check_patterns(const plan_options& o) {
  for (const auto* patterns : {&o.include, &o.exclude}) {
    for (const auto& p : *patterns) {
      if (auto m = backup::pattern_matches(p, ""); !m) {
        return fail(errc::config, fmt::format("target.topics.{}: {}", patterns == &o.include ? "include" : "exclude",
                                              m.error().message));
      }
    }
  }
  return {};
}

kb::result<sf::backup_manifest> read_manifest(storage::object_store& store, const sf::backup_paths& paths,
                                              const plan_options& o) {
  auto manifest_bytes = store.get(paths.backup_manifest());
  if (!manifest_bytes) {
    if (manifest_bytes.error().is(errc::not_found)) {
      return fail(errc::not_found, fmt::format("backup '{}' not found in {} (no {}): check backup_id and the storage "
                                               "settings, or run `kafka-backup list`",
                                               o.backup_id, store.describe(), paths.backup_manifest()));
    }
    return fail(std::move(manifest_bytes.error()));
  }
  auto manifest = sf::parse_backup_manifest(text_of(*manifest_bytes));
  if (!manifest) return fail(manifest.error().code, fmt::format("{} in {}: {}", paths.backup_manifest(), store.describe(), manifest.error().message));
  return std::move(*manifest);
}

// The target, manifest and partition count of one selected topic; nullopt for an internal topic
// not named literally (a warning says so).
kb::result<std::optional<planned_topic>> plan_topic(storage::object_store& store, const sf::backup_paths& paths,
                                                    const plan_options& o, planned_topic pt,
                                                    std::vector<std::string>& warnings,
                                                    std::set<std::string>& keys_used) {
  const std::string& topic = pt.source;
  auto tm_bytes = store.get(paths.topic_manifest(topic));
  if (!tm_bytes) {
    return fail(tm_bytes.error().is(errc::not_found) ? errc::corrupt : tm_bytes.error().code,
                fmt::format("{}: {}", paths.topic_manifest(topic), tm_bytes.error().message));
  }
  auto tm = sf::parse_topic_manifest(text_of(*tm_bytes));
  if (!tm) return fail(errc::corrupt, fmt::format("{}: {}", paths.topic_manifest(topic), tm.error().message));
  pt.manifest = std::move(*tm);
  // Internal topics (__consumer_offsets, __transaction_state) are the broker's own: only
  // restored when named literally in target.topics.include.
  if ((pt.manifest.is_internal || topic.starts_with("__")) &&
      std::find(o.include.begin(), o.include.end(), topic) == o.include.end()) {
    warnings.push_back(fmt::format("internal topic '{}' in the backup is not restored (name it in "
                                   "target.topics.include to force it)",
                                   topic));
    return std::optional<planned_topic>();
  }
  pt.target_partitions = pt.manifest.partition_count;
  auto rule = repartition_rule_for(o, pt.source, pt.target);
  if (!rule) return fail(std::move(rule.error()));
  if (*rule) {
    keys_used.insert((*rule)->first);
    if ((*rule)->second.target_partitions <= 0) {
      return fail(errc::config, fmt::format("restore.repartitioning.{}.target_partitions must be positive", (*rule)->first));
    }
    pt.repartition = (*rule)->second;
    pt.target_partitions = (*rule)->second.target_partitions;
  } else {
    // Only entries for partitions this topic has (the mapping is global) widen the target.
    for (const auto& [src, dst] : o.partition_mapping) {
      if (src >= pt.manifest.partition_count) continue;
      if (!o.source_partitions.empty() &&
          std::find(o.source_partitions.begin(), o.source_partitions.end(), src) == o.source_partitions.end())
        continue;
      pt.target_partitions = std::max(pt.target_partitions, dst + 1);
    }
  }
  return std::optional<planned_topic>(std::move(pt));
}

// The frames to download and what the plan says about the partition: batches a window or a
// transaction drops are counted, overlapping segments (a resumed backup) count once, and records
// below a log start that fell inside a batch are a recorded gap, not counted.
void choose_frames(planned_partition& pp, const plan_options& o) {
  rewrite_options ro;
  ro.window = o.window;
  std::int64_t next = 0;  // overlapping segments (a resumed backup) count once
  for (auto& seg : pp.segments) {
    std::vector<bool> need(seg.index->frames.size(), false);
    for (const auto& b : seg.index->batches) {
      // Records below a log start that fell inside the batch are a recorded gap: not restored.
      const std::int64_t live = sf::live_first_offset(*seg.index, b);
      const bool dup = b.last_offset < next || live > b.last_offset;
      auto v = judge_entry(b, pp.txns->dropped(b), ro);
      if (v.fate == batch_fate::drop || dup) {
        if (!dup) ++pp.dropped_batches;
        continue;
      }
      next = b.last_offset + 1;
      if (b.frame < need.size()) need[b.frame] = true;
      pp.records += static_cast<std::uint64_t>(std::min<std::int64_t>(b.record_count, b.last_offset - live + 1));
      if (pp.first_offset < 0) pp.first_offset = live;
      pp.last_offset = b.last_offset;
      if (b.first_timestamp >= 0 && (pp.min_timestamp < 0 || b.first_timestamp < pp.min_timestamp))
        pp.min_timestamp = b.first_timestamp;
      pp.max_timestamp = std::max(pp.max_timestamp, b.max_timestamp);
    }
    for (std::uint32_t f = 0; f < need.size(); ++f) {
      if (!need[f]) continue;
      seg.frames.push_back(f);
      pp.bytes += seg.index->frames[f].raw_size;
      ++pp.frames;
    }
  }
}

// One source partition: its target, its segments in offset order, its transactions, the
// integrity of its chain (damage and holes collected) and the frames to download.
kb::result<planned_partition> plan_partition(storage::object_store& store, const sf::backup_paths& paths,
                                             const plan_options& o, const planned_topic& pt, std::int32_t p,
                                             std::vector<std::string>& damage, std::vector<plan_hole>& holes,
                                             std::vector<std::string>& warnings) {
  const std::string& topic = pt.source;
  planned_partition pp;
  pp.source_topic = topic;
  pp.source_partition = p;
  pp.target_topic = pt.target;
  if (pt.repartition) {
    pp.target_partition = -1;
  } else {
    auto pm = o.partition_mapping.find(p);
    pp.target_partition = pm == o.partition_mapping.end() ? p : pm->second;
  }
  auto listing = store.list(paths.partition_dir(topic, p));
  if (!listing) return fail(std::move(listing.error()));
  std::vector<std::pair<std::int64_t, storage::object_info>> segs;
  for (const auto& obj : *listing) {
    const auto slash = obj.key.rfind('/');
    const std::string_view name = std::string_view(obj.key).substr(slash == std::string::npos ? 0 : slash + 1);
    if (auto range = sf::parse_segment_file_name(name)) segs.emplace_back(range->first, obj);
  }
  std::sort(segs.begin(), segs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  pp.txns = std::make_shared<txn_filter>();
  for (const auto& [first, obj] : segs) {
    (void)first;
    auto idx = sf::read_segment_index(store, obj.key, obj.size);
    if (!idx) return fail(std::move(idx.error()));  // the message names the segment
    auto shared = std::make_shared<sf::segment_index>(std::move(*idx));
    for (const auto& b : shared->batches) pp.txns->observe(b);
    for (const auto& s : shared->txns) pp.txns->observe_span(s);
    pp.segments.push_back({obj.key, shared, {}});
  }
  pp.txns->finish();
  // Invariant 7: every segment under its own key and no unrecorded hole, before producing.
  const auto cleanup = pt.manifest.configs.find("cleanup.policy");
  const bool compacted = cleanup != pt.manifest.configs.end() && cleanup->second.find("compact") != std::string::npos;
  auto integrity = verify_partition(store, paths, topic, p, compacted, pp.segments);
  if (!integrity) return fail(std::move(integrity.error()));
  damage.insert(damage.end(), integrity->damage.begin(), integrity->damage.end());
  holes.insert(holes.end(), integrity->holes.begin(), integrity->holes.end());
  warnings.insert(warnings.end(), integrity->warnings.begin(), integrity->warnings.end());
  choose_frames(pp, o);
  return pp;
}

// Consumer groups: the newest snapshot in groups/, the offsets of the groups asked for (or all
// with auto_consumer_groups) on restored partitions.
kb::result<void> plan_groups(storage::object_store& store, const sf::backup_paths& paths, const plan_options& o,
                             restore_plan& plan) {
  if (!o.consumer_groups.empty() || o.auto_consumer_groups) {
    auto listing = store.list(paths.groups_dir());
    if (!listing) return fail(std::move(listing.error()));
    std::optional<std::pair<std::int64_t, std::string>> newest;
    for (const auto& obj : *listing) {
      const auto slash = obj.key.rfind('/');
      std::string name = obj.key.substr(slash == std::string::npos ? 0 : slash + 1);
      if (name.size() < 6 || name.substr(name.size() - 5) != ".json") continue;
      std::int64_t ms = 0;
      try {
        ms = std::stoll(name.substr(0, name.size() - 5));
      } catch (const std::exception&) {
        continue;
      }
      if (!newest || ms > newest->first) newest = std::make_pair(ms, obj.key);
    }
    if (!newest) {
      // A group asked for by name that cannot be translated fails the restore before anything is
      // written: its consumers would otherwise start from auto.offset.reset, silently.
      if (!o.consumer_groups.empty()) {
        return fail(errc::config,
                    fmt::format("consumer group '{}' cannot be translated: backup '{}' holds no consumer-group "
                                "snapshot ({} is empty; back up with backup.consumer_group_snapshot: true). Remove "
                                "it from restore.consumer_groups to restore without group offsets",
                                o.consumer_groups.front(), o.backup_id, paths.groups_dir()));
      }
      plan.warnings.push_back(fmt::format("the backup holds no consumer-group snapshot ({} is empty): no group "
                                          "offsets to translate",
                                          paths.groups_dir()));
    } else {
      auto bytes = store.get(newest->second);
      if (!bytes) return fail(std::move(bytes.error()));
      auto snap = sf::parse_group_snapshot(text_of(*bytes));
      if (!snap) return fail(errc::corrupt, fmt::format("{}: {}", newest->second, snap.error().message));
      plan.groups = std::move(*snap);
      std::vector<std::string> wanted = o.consumer_groups;
      if (o.auto_consumer_groups)
        for (const auto& [g, offs] : plan.groups->groups)
          if (std::find(wanted.begin(), wanted.end(), g) == wanted.end()) wanted.push_back(g);
      for (const auto& g : wanted) {
        auto it = plan.groups->groups.find(g);
        if (it == plan.groups->groups.end()) {
          std::string known;
          std::size_t listed = 0;
          for (const auto& [name, offs] : plan.groups->groups) {
            if (listed++ == 10) {
              known += ", …";
              break;
            }
            known += (known.empty() ? "" : ", ") + name;
          }
          return fail(errc::config,
                      fmt::format("consumer group '{}' cannot be translated: it is not in the backup's group "
                                  "snapshot {} (groups there: {}). Check the name in restore.consumer_groups, or "
                                  "remove it to restore without its offsets",
                                  g, newest->second, known.empty() ? "none" : known));
        }
        for (const auto& off : it->second) {
          auto part = std::find_if(plan.partitions.begin(), plan.partitions.end(), [&](const planned_partition& x) {
            return x.source_topic == off.topic && x.source_partition == off.partition;
          });
          if (part == plan.partitions.end()) continue;  // topic or partition not restored
          planned_group_offset pg;
          pg.group = g;
          pg.source = off;
          pg.target_topic = part->target_topic;
          pg.target_partition = part->target_partition;
          pg.translatable = part->target_partition >= 0;
          plan.group_offsets.push_back(pg);
        }
      }
    }
  }
  return {};
}

}  // namespace

kb::result<restore_plan> build_plan(storage::object_store& store, const plan_options& o) {
  if (auto r = check_patterns(o); !r) return fail(std::move(r.error()));
  const sf::backup_paths paths{o.backup_id};
  restore_plan plan;
  auto manifest = read_manifest(store, paths, o);
  if (!manifest) return fail(std::move(manifest.error()));
  plan.backup = std::move(*manifest);

  std::set<std::string> target_names;
  std::vector<std::string> damage;  // segments under the wrong key, unreadable checkpoints
  std::vector<plan_hole> holes;
  std::set<std::string> repartition_keys_used;
  for (const auto& topic : plan.backup.topics) {
    if (!selected(o, topic)) continue;
    planned_topic pt;
    pt.source = topic;
    auto mapped = o.topic_mapping.find(topic);
    pt.target = mapped == o.topic_mapping.end() ? topic : mapped->second;
    if (!target_names.insert(pt.target).second) {
      return fail(errc::config, fmt::format("restore.topic_mapping sends two source topics to '{}': map each source "
                                            "topic to its own target topic",
                                            pt.target));
    }
    const std::string target = pt.target;
    auto planned = plan_topic(store, paths, o, std::move(pt), plan.warnings, repartition_keys_used);
    if (!planned) return fail(std::move(planned.error()));
    if (!*planned) {
      target_names.erase(target);
      continue;
    }
    plan.topics.push_back(**planned);
    const auto& t = plan.topics.back();
    for (std::int32_t p = 0; p < t.manifest.partition_count; ++p) {
      if (!o.source_partitions.empty() &&
          std::find(o.source_partitions.begin(), o.source_partitions.end(), p) == o.source_partitions.end())
        continue;
      auto pp = plan_partition(store, paths, o, t, p, damage, holes, plan.warnings);
      if (!pp) return fail(std::move(pp.error()));
      plan.partitions.push_back(std::move(*pp));
    }
  }

  if (auto r = check_repartition_keys(o, plan, repartition_keys_used); !r) return fail(std::move(r.error()));
  if (!damage.empty() || (!holes.empty() && !o.allow_gaps))
    return fail(integrity_error(o.backup_id, damage, holes, o.allow_gaps));
  for (const auto& h : holes)
    plan.warnings.push_back(h.text() + ": skipped (restore.allow_gaps: true); the target will lack these offsets");
  plan.holes = std::move(holes);
  if (auto r = plan_groups(store, paths, o, plan); !r) return fail(std::move(r.error()));
  return plan;
}

std::optional<std::string> mapping_widens_created_topic(const restore_plan& plan, const planned_topic& t) {
  if (t.repartition || t.target_partitions <= t.manifest.partition_count) return std::nullopt;
  std::string pairs;
  for (const auto& p : plan.partitions) {
    if (p.source_topic != t.source || p.target_partition < t.manifest.partition_count) continue;
    pairs += fmt::format("{}{} -> {}", pairs.empty() ? "" : ", ", p.source_partition, p.target_partition);
  }
  return fmt::format("restore.partition_mapping ({}) sends records of '{}' to partitions its target '{}' would not "
                     "have: the source has {} partition(s), and restore.create_topics would create '{}' with {}. "
                     "Create '{}' beforehand with the partitions you want, or map to partitions below {}",
                     pairs, t.source, t.target, t.manifest.partition_count, t.target, t.target_partitions, t.target,
                     t.manifest.partition_count);
}

std::string describe_plan(const restore_plan& plan, const plan_options& o) {
  std::string out;
  auto ts = [](std::int64_t v) { return v < 0 ? std::string("-") : std::to_string(v); };
  out += fmt::format("Restore plan for backup '{}' (source cluster {}, format {})\n", plan.backup.backup_id,
                     plan.backup.source_cluster_id.empty() ? "unknown" : plan.backup.source_cluster_id,
                     plan.backup.format_version);
  out += fmt::format("Time window: {} .. {} (inclusive)\n", o.window.start ? std::to_string(*o.window.start) : "open",
                     o.window.end ? std::to_string(*o.window.end) : "open");
  for (const auto& t : plan.topics) {
    out += fmt::format("Topic {} -> {} ({} source partitions, target needs {}{})\n", t.source, t.target,
                       t.manifest.partition_count, t.target_partitions,
                       t.repartition ? fmt::format(", repartitioned by {} into {}",
                                                   t.repartition->strategy == repartition_strategy::murmur2 ? "murmur2"
                                                                                                            : "round-robin",
                                                   t.repartition->target_partitions)
                                     : std::string());
    for (const auto& p : plan.partitions) {
      if (p.source_topic != t.source) continue;
      out += fmt::format("  partition {} -> {}: offsets {}..{}, timestamps {}..{}, records <= {}, {} bytes in {} frames{}\n",
                         p.source_partition,
                         p.target_partition >= 0 ? std::to_string(p.target_partition)
                         : t.repartition && t.repartition->strategy == repartition_strategy::round_robin
                             ? std::string("round-robin")
                             : std::string("by key"),
                         p.first_offset, p.last_offset, ts(p.min_timestamp), ts(p.max_timestamp), p.records, p.bytes,
                         p.frames,
                         p.dropped_batches ? fmt::format(", {} batches dropped by the index", p.dropped_batches)
                                           : std::string());
    }
  }
  for (const auto& g : plan.group_offsets) {
    out += fmt::format("Group {}: {}[{}] committed {} -> {}[{}] {}\n", g.group, g.source.topic, g.source.partition,
                       g.source.offset, g.target_topic, g.target_partition < 0 ? std::string("?") : std::to_string(g.target_partition),
                       g.translatable ? "translated after the restore" : "not translatable (repartitioned)");
  }
  for (const auto& h : plan.holes) out += "Hole: " + h.text() + "\n";
  for (const auto& w : plan.warnings) out += "Warning: " + w + "\n";
  out += fmt::format("Total: {} topics, {} partitions, records <= {}, {} bytes\n", plan.topics.size(),
                     plan.partitions.size(), plan.records(), plan.bytes());
  return out;
}

}  // namespace kb::pipeline::restore
