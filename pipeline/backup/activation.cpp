#include "pipeline/backup/activation.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include "pipeline/backup/resume.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines; the pairing is Asio's and
// correct, so the false positive is silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::backup {

namespace {
/// From this many partitions of one topic resumed at once, the topic is listed once for all of them.
constexpr std::size_t topic_listing_from = 8;
}  // namespace

namespace asio = boost::asio;

std::size_t add_partitions(partition_map& parts, const net::cluster& cluster, const std::set<std::string>& topics) {
  std::size_t added = 0;
  for (const auto& name : topics) {
    const auto* info = cluster.find_topic(name);
    if (!info) continue;
    for (const auto& p : info->partitions) {
      net::topic_partition tp{name, p.partition};
      auto [it, fresh] = parts.try_emplace(tp);
      if (!fresh) continue;
      it->second.tp = tp;
      it->second.topic_id = info->topic_id;
      ++added;
    }
  }
  return added;
}

std::vector<partition_state*> take_pending(partition_map& parts, run_mode mode, std::uint32_t max_concurrent) {
  std::size_t active = 0;
  std::vector<partition_state*> pending;
  for (auto& [tp, ps] : parts) {
    if (ps.phase == part_phase::active) ++active;
    else if (ps.phase == part_phase::pending) pending.push_back(&ps);
  }
  if (mode != run_mode::continuous) {
    const std::size_t limit = std::max<std::uint32_t>(1, max_concurrent);
    const std::size_t room = active >= limit ? 0 : limit - active;
    pending.resize(std::min(room, pending.size()));
  }
  return pending;
}

void activate_at(partition_state& ps, const offset_map& starts, const offset_map& ends,
                 const std::optional<offset_map>& snapshot_ends, run_mode mode) {
  if (!ps.has_checkpoint) {
    const auto s = starts.find(ps.tp);
    ps.next_offset = s != starts.end() ? s->second : 0;
    ps.checkpoint.next_offset = ps.next_offset;
  }
  if (mode == run_mode::one_shot) {
    if (const auto e = ends.find(ps.tp); e != ends.end()) ps.end_offset = e->second;
  }
  if (mode == run_mode::snapshot && snapshot_ends) {
    const auto it = snapshot_ends->find(ps.tp);
    // A partition born after the snapshot was taken has nothing to back up in it.
    ps.end_offset = it != snapshot_ends->end() ? it->second : ps.next_offset;
  }
  ps.phase = part_phase::active;
}

result<void> partition_activator::resume(partition_state& ps, const std::vector<stored_object>* listing) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto r = listing != nullptr ? resume_partition(store_, paths_, ps.tp.topic, ps.tp.partition, now, *listing)
                              : resume_partition(store_, paths_, ps.tp.topic, ps.tp.partition, now);
  if (!r) return fail(std::move(r.error()));
  ps.checkpoint = std::move(r->checkpoint);
  ps.has_checkpoint = r->has_checkpoint;
  if (ps.has_checkpoint) {
    ps.next_offset = ps.checkpoint.next_offset;
    ps.txns.restore(r->open_txns);  // transactions open at the end of the last segment go on here
  }
  return {};
}

result<void> partition_activator::resume_from_topic_listings(const std::vector<partition_state*>& taken) {
  // A topic of many partitions not resumed yet is listed once, and all of them — also those not
  // taken now — are resumed from that listing: a new 1,000-partition backup would otherwise make
  // 1,000 listings and 1,000 failed checkpoint reads before its last fetch. Nothing else writes a
  // partition of ours before we activate it, so the listing stays true for the later ones.
  std::set<std::string> topics;
  for (const auto* ps : taken)
    if (!ps->initialised) topics.insert(ps->tp.topic);
  for (const auto& topic : topics) {
    std::vector<partition_state*> fresh;
    for (auto& [tp, ps] : parts_)
      if (tp.topic == topic && ps.phase == part_phase::pending && !ps.initialised) fresh.push_back(&ps);
    if (fresh.size() < topic_listing_from) continue;
    auto listed = list_topic_partitions(store_, paths_, topic);
    if (!listed) return fail(std::move(listed.error()));
    static const std::vector<stored_object> nothing;
    for (auto* ps : fresh) {
      const auto it = listed->find(ps->tp.partition);
      if (auto r = resume(*ps, it != listed->end() ? &it->second : &nothing); !r) return r;
      ps->initialised = true;
    }
  }
  return {};
}

asio::awaitable<result<std::vector<partition_state*>>> partition_activator::async_activate(
    kafka_admin& admin, const std::optional<offset_map>& snapshot_ends) {
  std::vector<partition_state*> at_end;
  auto pending = take_pending(parts_, opts_.mode, opts_.max_concurrent_partitions);
  if (pending.empty()) co_return at_end;
  if (auto r = resume_from_topic_listings(pending); !r) co_return fail(std::move(r.error()));
  std::vector<net::topic_partition> need_start, need_end;
  for (auto* ps : pending) {
    if (!ps->initialised) {
      if (auto r = resume(*ps, nullptr); !r) co_return fail(std::move(r.error()));
      ps->initialised = true;
    }
    if (!ps->has_checkpoint) need_start.push_back(ps->tp);
    if (opts_.mode == run_mode::one_shot) need_end.push_back(ps->tp);
  }
  offset_map starts, ends;
  if (!need_start.empty()) {
    const auto at = opts_.start == start_position::earliest ? protocol::earliest_timestamp : protocol::latest_timestamp;
    auto r = co_await admin.async_list_offsets(need_start, at);
    if (!r) co_return fail(std::move(r.error()));
    starts = std::move(*r);
  }
  if (!need_end.empty()) {
    auto r = co_await admin.async_list_offsets(need_end, protocol::latest_timestamp);
    if (!r) co_return fail(std::move(r.error()));
    ends = std::move(*r);
  }
  for (auto* ps : pending) {
    activate_at(*ps, starts, ends, snapshot_ends, opts_.mode);
    if (ps->end_offset && ps->next_offset >= *ps->end_offset) at_end.push_back(ps);
  }
  co_return at_end;
}

}  // namespace kb::pipeline::backup
