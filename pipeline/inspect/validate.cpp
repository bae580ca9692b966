// inspect validate: checks one backup, shallow (manifests, checkpoints, indexes, chains) or
// deep (every segment read whole), listing every problem.
#include "pipeline/inspect/inspect.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <xxhash.h>

#include "pipeline/backup/batch_info.hpp"
#include "pipeline/inspect/backup_objects.hpp"
#include "protocol/records/record_batch.hpp"
#include "storage/format/segment.hpp"
#include "storage/format/segment_chain.hpp"
#include "storage/format/segment_overlap.hpp"

namespace kb::pipeline::inspect {

namespace sf = storage::format;

namespace {

class validator {
 public:
  validator(storage::object_store& store, const sf::backup_paths& paths, const validate_options& o)
      : store_(store), paths_(paths), opts_(o) {}

  validation run() {
    auto manifest = read_json<sf::backup_manifest>(store_, paths_.backup_manifest(), sf::parse_backup_manifest);
    if (!manifest) problem(paths_.backup_manifest(), manifest.error());
    if (manifest && manifest->backup_id != paths_.backup_id)
      problem(paths_.backup_manifest(), fmt::format("names backup '{}' but lies under '{}'", manifest->backup_id,
                                                    paths_.backup_id));
    auto objs = scan(store_, paths_);
    if (!objs) {
      problem(paths_.root() + "topics/", objs.error());
      return std::move(v_);
    }
    for (const auto& key : objs->strays) problem(key, "unexpected object in the backup layout");
    for (const auto& name : topic_order(manifest ? &*manifest : nullptr, *objs)) {
      const auto found = objs->topics.find(name);
      check_topic(name, found == objs->topics.end() ? topic_objects{} : found->second,
                  manifest && std::find(manifest->topics.begin(), manifest->topics.end(), name) != manifest->topics.end());
    }
    auto groups = store_.list(paths_.groups_dir());
    if (!groups) {
      problem(paths_.groups_dir(), groups.error());
    } else {
      for (const auto& g : *groups) {
        auto snap = read_json<sf::group_snapshot>(store_, g.key, sf::parse_group_snapshot);
        if (!snap) problem(g.key, snap.error());
      }
    }
    return std::move(v_);
  }

 private:
  void problem(const std::string& key, std::string what) { v_.problems.push_back({key, std::move(what)}); }
  void problem(const std::string& key, const kb::error& e) {
    // Messages from the readers often start with the key already; do not say it twice.
    std::string m = e.message;
    if (m.rfind(key + ": ", 0) == 0) m.erase(0, key.size() + 2);
    const std::string seg_prefix = "segment " + key + ": ";
    if (m.rfind(seg_prefix, 0) == 0) m.erase(0, seg_prefix.size());
    if (e.is(errc::not_found)) m = "missing";
    problem(key, std::move(m));
  }

  void check_topic(const std::string& name, const topic_objects& to, bool in_manifest) {
    const std::string tkey = paths_.topic_manifest(name);
    if (!in_manifest) problem(tkey, fmt::format("topic '{}' has objects but is not listed in backup.json", name));
    std::optional<sf::topic_manifest> tm;
    if (!to.manifest) {
      problem(tkey, "missing");
    } else {
      auto parsed = read_json<sf::topic_manifest>(store_, tkey, sf::parse_topic_manifest);
      if (!parsed) problem(tkey, parsed.error());
      else if (parsed->name != name) problem(tkey, fmt::format("names topic '{}'", parsed->name));
      else tm = std::move(*parsed);
    }
    const bool compacted = tm && is_compacted(*tm);
    std::int32_t count = tm ? tm->partition_count : 0;
    for (const auto& [p, po] : to.partitions) {
      if (tm && p >= tm->partition_count)
        problem(paths_.partition_dir(name, p), fmt::format("partition {} is beyond the topic's {} partitions", p,
                                                           tm->partition_count));
      count = std::max(count, p + 1);
    }
    for (std::int32_t p = 0; p < count; ++p) {
      const auto pit = to.partitions.find(p);
      check_partition(name, p, pit == to.partitions.end() ? partition_objects{} : pit->second, compacted);
    }
  }

  void check_partition(const std::string& topic, std::int32_t partition, const partition_objects& listed, bool compacted) {
    const std::string ckey = paths_.checkpoint(topic, partition);
    std::optional<sf::partition_checkpoint> cp;
    bool checkpoint_missing = false;
    {
      // Read even when the listing showed none: a backup may have written it since.
      auto c = read_json<sf::partition_checkpoint>(store_, ckey, sf::parse_checkpoint);
      if (!c && c.error().is(errc::not_found)) checkpoint_missing = true;
      else if (!c) problem(ckey, c.error());
      else if (c->topic != topic || c->partition != partition)
        problem(ckey, fmt::format("names {}-{}", c->topic, c->partition));
      else cp = std::move(*c);
    }
    // A backup running meanwhile may have moved the checkpoint on since the folder was listed:
    // a listing taken after reading the checkpoint holds every segment it names (segments are
    // durable before the checkpoint points at them), so that snapshot is validated instead.
    std::optional<partition_objects> relisted;
    if (cp && !cp->last_segment.empty() &&
        std::none_of(listed.segments.begin(), listed.segments.end(),
                     [&](const segment_object& s) { return s.object.key == cp->last_segment; })) {
      auto again = scan_partition(store_, paths_, topic, partition);
      if (!again) problem(paths_.partition_dir(topic, partition), again.error());
      else relisted = std::move(*again);
    }
    const partition_objects& po = relisted ? *relisted : listed;
    for (const auto& key : po.strays) problem(key, "unexpected object in a partition folder");
    if (checkpoint_missing) problem(ckey, "missing (every backed-up partition has one)");

    // Index of every segment (and, deep, the whole segment).
    std::vector<sf::segment_index> indexes;
    indexes.reserve(po.segments.size());  // links point into it
    std::vector<sf::chain_link> links;
    for (const auto& s : po.segments) {
      v_.segments += 1;
      sf::chain_link link{s.object.key, s.first, s.last, nullptr};
      auto idx = sf::read_segment_index(store_, s.object.key, s.object.size);
      if (!idx) {
        problem(s.object.key, idx.error());
      } else if (auto wrong = sf::segment_mismatch(*idx, topic, partition, s.first, s.last)) {
        problem(s.object.key, *wrong);
      } else {
        v_.batches += opts_.deep ? 0 : idx->batches.size();
        if (!opts_.deep || check_deep(s, *idx)) {
          indexes.push_back(std::move(*idx));
          link.index = &indexes.back();
        }
      }
      links.push_back(std::move(link));
    }
    if (cp && cp->last_segment.empty() && !po.segments.empty() && cp->segments > 0)
      problem(ckey, "counts segments but names none");

    // The chain from the first segment to the checkpoint, apart from recorded gaps (and
    // compaction, which may remove offsets between and inside segments of a compacted topic).
    const auto chain = sf::check_chain(links, cp ? &*cp : nullptr, ckey, compacted);
    for (const auto& f : chain.findings) problem(f.key, f.problem);
    if (opts_.deep) check_overlaps(chain, links);
  }

  /// Overlaps whose index entries agree (two writers for a moment) must hold the same bytes too.
  void check_overlaps(const sf::chain_report& chain, const std::vector<sf::chain_link>& links) {
    auto link_of = [&](const std::string& key) -> const sf::chain_link* {
      for (const auto& l : links)
        if (l.key == key && l.index) return &l;
      return nullptr;
    };
    for (const auto& o : chain.overlaps) {
      const auto* later = link_of(o.key);
      const auto* earlier = link_of(o.other_key);
      if (!later || !earlier) continue;  // check_chain compared indexes, so both were read
      auto same = sf::compare_overlap(store_, *later, *earlier, o.first_offset, o.last_offset);
      if (!same) {
        problem(o.key, same.error());
      } else if (*same) {
        problem(o.key, fmt::format("offsets {}..{} are also held by {}, and the two differ: {}; two writers stored "
                                   "different data for the same offsets",
                                   o.first_offset, o.last_offset, o.other_key, **same));
      }
    }
  }

  /// Reads the whole segment: file and frame checksums, decompression, then every batch split
  /// from the frames with its CRC and offsets compared with the index.
  bool check_deep(const segment_object& s, const sf::segment_index& idx) {
    const std::string& key = s.object.key;
    auto bytes = store_.get(key);
    if (!bytes) {
      problem(key, bytes.error());
      return false;
    }
    if (bytes->size() != idx.file_size) {
      problem(key, fmt::format("read {} bytes, the listing said {}", bytes->size(), idx.file_size));
      return false;
    }
    // Frames one by one, so that a damaged frame does not hide the others.
    bool ok = true;
    for (std::uint32_t f = 0; f < idx.frames.size(); ++f) {
      const auto& fe = idx.frames[f];
      const byte_view stored = byte_view(*bytes).subspan(fe.file_offset, fe.stored_size);
      if (xxh3_of(stored) != fe.xxh3) {
        problem(key, fmt::format("frame {} checksum mismatch", f));
        ok = false;
        continue;
      }
      auto raw = sf::decode_frame(idx.header.codec, stored, fe.raw_size, idx.header.filter);
      if (!raw) {
        problem(key, fmt::format("frame {}: {}", f, raw.error().message));
        ok = false;
        continue;
      }
      ok = check_frame_batches(key, idx, f, shared_bytes(std::move(*raw))) && ok;
    }
    if (ok) {
      // Everything else (header, index, file checksum) in one go.
      auto whole = sf::parse_segment(*bytes);
      if (!whole) {
        std::string m = whole.error().message;
        if (m.rfind("segment: ", 0) == 0) m.erase(0, 9);
        problem(key, m);
        ok = false;
      }
    }
    return ok;
  }

  bool check_frame_batches(const std::string& key, const sf::segment_index& idx, std::uint32_t f, const shared_bytes& raw) {
    const auto& fe = idx.frames[f];
    protocol::batch_splitter splitter(raw);
    std::uint32_t n = 0;
    bool ok = true;
    for (;; ++n) {
      auto next = splitter.next();
      if (!next) {
        problem(key, fmt::format("frame {} batch {}: {}", f, n, next.error().message));
        return false;
      }
      if (!*next) break;
      const auto& b = **next;
      if (n >= fe.batch_count) {
        problem(key, fmt::format("frame {} holds more batches than its {} index entries", f, fe.batch_count));
        return false;
      }
      v_.batches += 1;
      const auto& e = idx.batches[fe.first_batch + n];
      const auto pos = static_cast<std::size_t>(b.bytes.data() - raw.data());
      if (pos != e.position || b.bytes.size() != e.size) {
        problem(key, fmt::format("frame {} batch at offset {} sits at {}+{}, the index says {}+{}", f, b.base_offset,
                                 pos, b.bytes.size(), e.position, e.size));
        ok = false;
      }
      // A compressed legacy entry names only its last offset: its first comes from its records.
      std::int64_t first = b.base_offset;
      if (b.magic != 2) {
        if (auto d = backup::describe_batch(b); d) {
          first = d->first_offset;
        } else {
          problem(key, fmt::format("frame {} batch at offset {}: {}", f, b.base_offset, d.error().message));
          ok = false;
        }
      }
      if (first != e.first_offset || b.last_offset != e.last_offset) {
        problem(key, fmt::format("frame {} batch {} holds offsets {}..{}, the index says {}..{}", f, n, first,
                                 b.last_offset, e.first_offset, e.last_offset));
        ok = false;
      }
      if (auto crc = protocol::check_batch_crc(b.bytes.view()); !crc) {
        problem(key, fmt::format("frame {} batch at offset {}: {}", f, b.base_offset, crc.error().message));
        ok = false;
      }
    }
    if (splitter.truncated() || splitter.position() != raw.size()) {
      problem(key, fmt::format("frame {} ends inside a batch (at byte {} of {})", f, splitter.position(), raw.size()));
      ok = false;
    }
    if (n != fe.batch_count) {
      problem(key, fmt::format("frame {} holds {} batches, its index {}", f, n, fe.batch_count));
      ok = false;
    }
    return ok;
  }

  static std::uint64_t xxh3_of(byte_view b) { return XXH3_64bits(b.data(), b.size()); }

  storage::object_store& store_;
  const sf::backup_paths& paths_;
  validate_options opts_;
  validation v_;
};

}  // namespace

kb::result<validation> validate_backup(storage::object_store& store, std::string_view backup_id,
                                       const validate_options& options) {
  if (auto r = require_backup(store, backup_id); !r) return fail(std::move(r.error()));
  const sf::backup_paths paths{std::string(backup_id)};
  validator v(store, paths, options);
  return v.run();
}

std::string validation_text(const validation& v) {
  std::string out;
  for (const auto& p : v.problems) out += fmt::format("problem: {}: {}\n", p.key, p.problem);
  out += fmt::format("{} segment{}, {} batch{} checked: ", v.segments, v.segments == 1 ? "" : "s", v.batches,
                     v.batches == 1 ? "" : "es");
  out += v.ok() ? std::string("OK\n")
                : fmt::format("{} problem{}\n", v.problems.size(), v.problems.size() == 1 ? "" : "s");
  return out;
}

}  // namespace kb::pipeline::inspect
