// Restore's pre-produce integrity check (see verify_chain.hpp).
#include "pipeline/restore/verify_chain.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "storage/format/segment_chain.hpp"
#include "storage/object_store.hpp"

namespace kb::pipeline::restore {

namespace sf = storage::format;

std::string plan_hole::text() const {
  return fmt::format("topic '{}' partition {}: offsets {}..{} are missing ({})", source_topic, source_partition,
                     first_offset, last_offset, detail);
}

kb::result<partition_integrity> verify_partition(storage::object_store& store, const sf::backup_paths& paths,
                                                 const std::string& topic, std::int32_t partition, bool compacted,
                                                 const std::vector<planned_segment>& segments) {
  partition_integrity out;
  std::vector<sf::chain_link> links;
  for (const auto& seg : segments) {
    const auto range = sf::parse_segment_file_name(seg.key);
    if (!range) continue;  // build_plan lists only segment names
    sf::chain_link link{seg.key, range->first, range->second, seg.index.get()};
    if (auto wrong = sf::segment_mismatch(*seg.index, topic, partition, range->first, range->second)) {
      const bool elsewhere = seg.index->header.topic != topic || seg.index->header.partition != partition;
      out.damage.push_back(
          elsewhere ? fmt::format("segment {} {}: it was copied or moved here; move it back under {} or delete it",
                                  seg.key, *wrong, paths.partition_dir(seg.index->header.topic, seg.index->header.partition))
                    : fmt::format("segment {}: {}: segment contents were swapped or renamed; put the right segment "
                                  "back under this name or delete it",
                                  seg.key, *wrong));
      link.index = nullptr;
    }
    links.push_back(std::move(link));
  }
  std::sort(links.begin(), links.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first < b.first : a.last < b.last; });

  const std::string ckey = paths.checkpoint(topic, partition);
  std::optional<sf::partition_checkpoint> cp;
  auto bytes = store.get(ckey);
  if (!bytes && !bytes.error().is(errc::not_found)) return fail(std::move(bytes.error()));
  if (!bytes) {
    if (!links.empty())
      out.warnings.push_back(fmt::format("{} is missing: the end of {}[{}]'s segment chain cannot be verified "
                                         "(a backup that stopped before its first checkpoint, or a damaged set)",
                                         ckey, topic, partition));
  } else if (auto parsed = sf::parse_checkpoint(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
             !parsed) {
    out.damage.push_back(fmt::format("{}: {}: repair it, or remove it to check only the segments against each other",
                                     ckey, parsed.error().message));
  } else if (parsed->topic != topic || parsed->partition != partition) {
    out.damage.push_back(fmt::format("{} names {}-{}: it was copied or moved here; put the right checkpoint back",
                                     ckey, parsed->topic, parsed->partition));
  } else {
    cp = std::move(*parsed);
  }

  // A backup still running may have written segments and moved the checkpoint on since the
  // folder was listed (segments are durable before the checkpoint names them): when the named
  // segment exists, the restore takes the chain as listed, ending where the listing ends.
  if (cp && !cp->last_segment.empty() &&
      std::none_of(links.begin(), links.end(), [&](const sf::chain_link& l) { return l.key == cp->last_segment; })) {
    auto named = store.head(cp->last_segment);
    if (!named && !named.error().is(errc::not_found)) return fail(std::move(named.error()));
    if (named && links.empty()) {
      cp.reset();
    } else if (named) {
      const auto end = std::max_element(links.begin(), links.end(),
                                        [](const auto& a, const auto& b) { return a.last < b.last; });
      cp->last_segment = end->key;
      cp->next_offset = end->last + 1;
    }
  }

  const auto chain = sf::check_chain(links, cp ? &*cp : nullptr, ckey, compacted);
  for (const auto* h : chain.holes())
    out.holes.push_back({topic, partition, h->first_offset, h->last_offset, h->key + ": " + h->problem});
  // Offsets two segments hold differently: which copy is right cannot be told here.
  for (const auto& f : chain.findings) {
    if (f.kind != sf::chain_issue::overlap) continue;
    out.damage.push_back(fmt::format("segment {}: {}: keep the copy whose batches are right (`kafka-backup validate "
                                     "--deep` checks every batch's CRC) and delete the other",
                                     f.key, f.problem));
  }
  return out;
}

kb::error integrity_error(const std::string& backup_id, const std::vector<std::string>& damage,
                          const std::vector<plan_hole>& holes, bool allow_gaps) {
  std::string m = fmt::format("restore refused: backup '{}' is damaged, so the restore would write wrong or missing "
                              "data:",
                              backup_id);
  for (const auto& d : damage) m += "\n  " + d;
  for (const auto& h : holes) m += "\n  " + h.text();
  m += "\nNothing was produced and no topic was created.";
  if (!damage.empty())
    m += " Fix the objects named above (`kafka-backup validate` lists every problem).";
  if (!holes.empty() && !allow_gaps)
    m += " Put the missing segments back from a copy of the backup, or set restore.allow_gaps: true to restore "
         "everything else and skip the missing offsets (each is reported).";
  return kb::error{make_error_code(errc::corrupt), std::move(m)};
}

}  // namespace kb::pipeline::restore
