#include "pipeline/backup/fetcher.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/log.hpp"
#include "pipeline/backup/batch_info.hpp"
#include "pipeline/backup/fetch_budget.hpp"
#include "protocol/error_codes.hpp"
#include "protocol/records/record_batch.hpp"

// g++ 12 at -O2 misreads Asio's awaitable frame allocator (aligned_new paired with its own
// operator delete) as a mismatched new/delete in large coroutines; the pairing is Asio's and
// correct, so the false positive is silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace kb::pipeline::backup {

namespace asio = boost::asio;
namespace sf = storage::format;
using steady = std::chrono::steady_clock;

bool fetchable(const partition_state& ps, steady::time_point now) noexcept {
  return ps.phase == part_phase::active && !ps.fetching && !ps.needs_reset && now >= ps.not_before &&
         ps.closing.size() < 2;  // back-pressure: the partition's uploads must keep up
}

std::vector<net::topic_partition> take_request(std::vector<net::topic_partition>& list, std::size_t free_slots,
                                               const partition_map& parts) {
  std::vector<net::topic_partition> batch;
  if (list.empty()) return batch;
  const std::size_t per = std::max<std::size_t>(1, (list.size() + free_slots - 1) / std::max<std::size_t>(1, free_slots));
  auto alone = std::find_if(list.begin(), list.end(), [&](const auto& tp) {
    auto it = parts.find(tp);
    return it != parts.end() && it->second.fetch_alone;
  });
  if (alone != list.end()) {
    batch = {*alone};
    list.erase(alone);
  } else {
    const auto n = static_cast<std::ptrdiff_t>(std::min(per, list.size()));
    batch.assign(list.begin(), list.begin() + n);
    list.erase(list.begin(), list.begin() + n);
  }
  return batch;
}

std::chrono::milliseconds failure_delay(int failures, std::chrono::milliseconds base,
                                        std::chrono::milliseconds max) noexcept {
  return std::min<std::chrono::milliseconds>(base * (1 << std::clamp(failures, 0, 8)), max);
}

reset_decision decide_reset(std::int64_t next_offset, std::int64_t log_start, std::int64_t log_end) noexcept {
  if (log_start > next_offset) return {reset_decision::gap, {next_offset, log_start - 1}};
  if (next_offset > log_end) return {reset_decision::truncated, {}};
  return {};
}

fetcher::fetcher(asio::io_context& io, net::cluster& cluster, kafka_admin& admin, memory_budget& budget,
                 partition_map& parts, segment_uploader& uploader, stats& totals, options o, hooks h)
    : io_(io),
      cluster_(cluster),
      admin_(admin),
      budget_(budget),
      parts_(parts),
      uploader_(uploader),
      totals_(totals),
      opts_(std::move(o)),
      hooks_(std::move(h)) {}

void fetcher::launch() {
  const auto now = steady::now();
  std::vector<net::topic_partition> ready;
  for (auto& [tp, ps] : parts_)
    if (fetchable(ps, now)) ready.push_back(tp);
  if (ready.empty()) return;
  std::vector<net::topic_partition> leaderless;
  auto groups = cluster_.group_by_leader(ready, &leaderless);
  if (!leaderless.empty()) metadata_stale_ = true;
  const int slots = static_cast<int>(opts_.max_in_flight_per_broker);
  for (auto& [leader, list] : groups) {
    // Rotate who goes first: the broker fills a response in request order, so a busy first
    // partition would otherwise starve the others of the response's max_bytes.
    std::rotate(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(rotation_++ % list.size()), list.end());
    // Fill this broker's free slots, splitting the ready partitions so requests overlap.
    while (!list.empty() && in_flight_[leader] < slots) {
      const std::uint64_t want = std::min<std::uint64_t>(opts_.fetch_max_bytes, budget_.available());
      if (want < min_buffer_bytes(opts_.fetch_max_bytes)) {
        relieve_memory();
        return;
      }
      if (!budget_.try_acquire(want)) return;
      auto batch = take_request(list, static_cast<std::size_t>(slots - in_flight_[leader]), parts_);
      for (const auto& tp : batch) parts_[tp].fetching = true;
      last_activity_ = steady::now();
      ++in_flight_[leader];
      ++fetches_in_flight_;
      asio::co_spawn(io_, async_fetch(leader, std::move(batch), want), asio::detached);
    }
  }
}

void fetcher::relieve_memory() {
  // The budget is spent: close the largest open segment so its bytes flow out.
  partition_state* largest = nullptr;
  for (auto& [tp, ps] : parts_)
    if (ps.cur && (!largest || ps.cur->builder.raw_bytes() > largest->cur->builder.raw_bytes())) largest = &ps;
  if (largest && largest->cur->builder.raw_bytes() > 0) {
    log::debug("backup: memory budget full ({} of {} bytes); sealing {}-{} early", budget_.used(), budget_.limit(),
               largest->tp.topic, largest->tp.partition);
    uploader_.close(*largest);
  }
}

asio::awaitable<void> fetcher::async_fetch(std::int32_t leader, std::vector<net::topic_partition> batch,
                                           std::uint64_t reserved) {
  protocol::fetch_request req;
  req.max_wait_ms = opts_.mode == run_mode::continuous
                        ? static_cast<std::int32_t>(std::min<std::uint64_t>(opts_.poll_interval_ms, 30'000))
                        : 100;
  req.min_bytes = 1;
  req.max_bytes = static_cast<std::int32_t>(reserved);
  req.isolation = protocol::isolation_level::read_uncommitted;
  std::map<std::string, protocol::uuid> ids;
  for (const auto& tp : batch) {
    auto& ps = parts_[tp];
    if (req.topics.empty() || req.topics.back().topic != tp.topic) {
      req.topics.push_back({tp.topic, ps.topic_id, {}});
      ids[tp.topic] = ps.topic_id;
    }
    protocol::fetch_request::partition p;
    p.partition = tp.partition;
    p.fetch_offset = ps.next_offset;
    const std::int32_t per = static_cast<std::int32_t>(std::min<std::uint64_t>(reserved, 8u << 20));
    p.partition_max_bytes = std::max(per, ps.max_bytes_boost);
    req.topics.back().partitions.push_back(p);
  }
  // One attempt per fetch: on a lost or dead leader the partitions go back to the scheduler,
  // which refreshes metadata and retries them (bounded, with back-off) wherever they now
  // live, instead of waiting here on reconnects to a broker that may be gone for good.
  result<protocol::fetch_response> resp = fail(errc::connect, "not sent");
  if (auto conn = co_await cluster_.async_connection(leader)) {
    resp = co_await (*conn)->async_request(std::move(req));
  } else {
    resp = fail(std::move(conn.error()));
  }
  std::uint64_t appended = 0;
  if (!resp) {
    if (resp.error().is(errc::authorization) || resp.error().is(errc::sasl) || resp.error().is(errc::tls)) {
      hooks_.on_error(std::move(resp.error()));
    } else {
      log::warn("backup: fetch from broker {} failed ({}); refreshing metadata and retrying", leader,
                resp.error().message);
      metadata_stale_ = true;
      for (const auto& tp : batch) note_failure(parts_[tp], resp.error());
    }
  } else {
    for (auto& t : resp->responses) {
      std::string name = t.topic;
      if (name.empty()) {
        for (const auto& [n, id] : ids)
          if (id == t.topic_id) name = n;
      }
      for (auto& p : t.partitions) {
        auto it = parts_.find({name, p.partition_index});
        if (it == parts_.end()) continue;
        appended += handle_partition(it->second, p, batch.size() == 1);
      }
    }
  }
  for (const auto& tp : batch) parts_[tp].fetching = false;
  --in_flight_[leader];
  --fetches_in_flight_;
  last_activity_ = steady::now();
  budget_.release(reserved);
  totals_.bytes_fetched += appended;
  hooks_.poke();
}

void fetcher::note_failure(partition_state& ps, const error& e) {
  hooks_.count_error();
  ++ps.failures;
  if (ps.failures > 12) {
    hooks_.on_error(error{e.code, fmt::format("{}-{}: giving up after {} failed fetches: {}", ps.tp.topic,
                                              ps.tp.partition, ps.failures, e.message)});
    return;
  }
  ps.not_before = steady::now() + failure_delay(ps.failures, opts_.retry_backoff, opts_.retry_backoff_max);
}

std::uint64_t fetcher::handle_partition(partition_state& ps, protocol::fetch_response::partition& p, bool alone) {
  const auto cls = protocol::classify(p.error_code);
  if (cls == protocol::error_class::offset_out_of_range) {
    ps.needs_reset = true;
    asio::co_spawn(io_, async_reset_offset(ps.tp), asio::detached);
    return 0;
  }
  if (cls == protocol::error_class::authorization) {
    hooks_.on_error(net::topic_error(p.error_code, ps.tp.topic, opts_.principal_hint));
    return 0;
  }
  if (cls == protocol::error_class::refresh_metadata || cls == protocol::error_class::retriable) {
    metadata_stale_ = true;
    note_failure(ps, error{make_error_code(errc::broker),
                           fmt::format("broker error {}", protocol::name(static_cast<protocol::error_code>(p.error_code)))});
    return 0;
  }
  if (cls != protocol::error_class::none) {
    hooks_.on_error(net::topic_error(p.error_code, ps.tp.topic, opts_.principal_hint));
    return 0;
  }
  ps.failures = 0;
  ps.high_watermark = p.high_watermark;
  std::uint64_t appended = 0;
  bool any = false;
  bool truncated = false;
  if (p.records && !p.records->empty()) {
    auto split = protocol::split_batches(*p.records);
    if (!split) {
      hooks_.on_error(error{split.error().code, fmt::format("{}-{} at offset {}: {}", ps.tp.topic, ps.tp.partition,
                                                            ps.next_offset, split.error().message)});
      return 0;
    }
    truncated = split->truncated;
    for (auto& b : split->batches) {
      if (b.last_offset < ps.next_offset) continue;  // before our position (compressed legacy sets)
      if (ps.end_offset && b.base_offset >= *ps.end_offset) break;
      auto entry = describe_batch(b);
      if (!entry) {
        hooks_.on_error(error{entry.error().code, fmt::format("{}-{}: {}", ps.tp.topic, ps.tp.partition,
                                                              entry.error().message)});
        return appended;
      }
      auto& seg = uploader_.current(ps);
      const auto e = *entry;
      const std::int64_t below = record_log_start_inside(ps, seg, e);
      auto closed = ps.txns.observe(e);
      auto sealed = seg.builder.append(b.bytes.view(), e);
      if (closed) seg.builder.add_txn_span(*closed);
      if (sealed) uploader_.submit_compress(ps, ps.cur, std::move(*sealed));
      if ((e.flags & sf::batch_flags::control) == 0)
        seg.records += static_cast<std::uint64_t>(std::max<std::int64_t>(0, e.record_count - below));
      ++seg.batches;
      if (e.first_timestamp >= 0 && (seg.min_ts < 0 || e.first_timestamp < seg.min_ts)) seg.min_ts = e.first_timestamp;
      seg.max_ts = std::max(seg.max_ts, e.max_timestamp);
      seg.charged += b.bytes.size();
      budget_.force_acquire(b.bytes.size());
      appended += b.bytes.size();
      ps.next_offset = e.last_offset + 1;
      any = true;
      // A third of the budget at most: one segment then uploads while the next fills and a
      // fetch is under way, instead of a lone busy partition filling the whole budget and
      // waiting, fetches stopped, for its one segment to be written.
      if (seg.builder.raw_bytes() >= std::min<std::uint64_t>(opts_.segment_max_bytes, budget_.limit() / 3))
        uploader_.close(ps);
    }
  }
  if (!any && truncated) {
    // One batch larger than we asked for: ask for more next time (bounded by the response cap).
    ps.max_bytes_boost = std::min<std::int32_t>(std::max<std::int32_t>(ps.max_bytes_boost, 1 << 20) * 2,
                                                opts_.max_response_bytes / 2);
  }
  if (any) ps.fetch_alone = false;
  if (!any && !truncated) {
    // Nothing at or after our position below the high watermark. Asked alone, that means
    // compaction removed the tail and the partition is complete up to there; in a shared
    // request the response may just have been full, so ask again alone.
    const std::int64_t limit = ps.end_offset ? std::min(*ps.end_offset, p.high_watermark) : p.high_watermark;
    if (ps.next_offset < limit && !alone) {
      ps.fetch_alone = true;
    } else if (ps.next_offset < limit) {
      ps.fetch_alone = false;
      log::debug("backup: {}-{}: no batch between {} and {}; treating the range as compacted away", ps.tp.topic,
                 ps.tp.partition, ps.next_offset, limit);
      ps.next_offset = limit;
    }
  }
  if (ps.end_offset && ps.next_offset >= *ps.end_offset && ps.phase == part_phase::active) hooks_.finish(ps);
  return appended;
}

/// Kafka answers a fetch from inside a batch with the whole batch. Offsets of it below our
/// position were deleted (the log start fell inside it; stored batches never overlap): the
/// batch is stored as fetched and those offsets are recorded as a gap in the same segment,
/// so readers skip them (DESIGN.md §5 invariant 6). Returns how many offsets lie below.
std::int64_t fetcher::record_log_start_inside(partition_state& ps, open_segment& seg, const sf::batch_entry& e) {
  if (e.first_offset >= ps.next_offset) return 0;
  const sf::offset_gap below{e.first_offset, ps.next_offset - 1};
  if (!seg.builder.gaps_cover(below.first_offset, below.last_offset)) {
    log::info("backup: {}-{}: the log starts at {}, inside the batch {}..{}; storing the batch as fetched with "
              "offsets {}..{} recorded as deleted",
              ps.tp.topic, ps.tp.partition, ps.next_offset, e.first_offset, e.last_offset, below.first_offset,
              below.last_offset);
    seg.builder.add_gap(below);
    seg.gaps.push_back(below);
  }
  return below.last_offset - below.first_offset + 1;
}

/// OFFSET_OUT_OF_RANGE: retention removed what we wanted. Record the gap and go on from the
/// log start (invariant 4); an offset past the log end means the topic was truncated or
/// recreated, which we refuse to paper over.
asio::awaitable<void> fetcher::async_reset_offset(net::topic_partition tp) {
  const std::vector<net::topic_partition> one{tp};
  auto earliest = co_await admin_.async_list_offsets(one, protocol::earliest_timestamp);
  result<offset_map> latest = offset_map{};
  if (earliest) latest = co_await admin_.async_list_offsets(one, protocol::latest_timestamp);
  auto it = parts_.find(tp);
  if (it == parts_.end()) co_return;
  auto& ps = it->second;
  ps.needs_reset = false;
  if (!earliest || !latest) {
    hooks_.on_error(!earliest ? std::move(earliest.error()) : std::move(latest.error()));
    co_return;
  }
  apply_reset(ps, (*earliest)[tp], (*latest)[tp]);
  hooks_.poke();
}

void fetcher::apply_reset(partition_state& ps, std::int64_t log_start, std::int64_t log_end) {
  const auto& tp = ps.tp;
  const auto d = decide_reset(ps.next_offset, log_start, log_end);
  if (d.what == reset_decision::gap) {
    log::warn("backup: {}-{}: offsets {}..{} were deleted by retention before they could be backed up; "
              "recording a gap and continuing at {}",
              tp.topic, tp.partition, d.deleted.first_offset, d.deleted.last_offset, d.deleted.last_offset + 1);
    auto& seg = uploader_.current(ps);
    seg.builder.add_gap(d.deleted);
    seg.gaps.push_back(d.deleted);
    ps.next_offset = d.deleted.last_offset + 1;
    ++totals_.gaps;
    if (ps.end_offset && ps.next_offset >= *ps.end_offset) hooks_.finish(ps);
  } else if (d.what == reset_decision::truncated) {
    hooks_.on_error(error{make_error_code(errc::conflict),
                          fmt::format("{}-{}: the backup continues at offset {} but the partition ends at {}; the "
                                      "topic was truncated or recreated — start a new backup id",
                                      tp.topic, tp.partition, ps.next_offset, log_end)});
  } else {
    // The log still holds the position: the answer came from a broker whose view was stale (a
    // leader that just changed). Nothing is skipped; ask again after a back-off, via fresh metadata.
    log::warn("backup: {}-{}: OFFSET_OUT_OF_RANGE for offset {} although the partition holds {}..{}; "
              "refreshing metadata and retrying after a back-off",
              tp.topic, tp.partition, ps.next_offset, log_start, log_end);
    metadata_stale_ = true;
    note_failure(ps, error{make_error_code(errc::broker),
                           fmt::format("OFFSET_OUT_OF_RANGE for offset {} although the partition holds offsets {}..{}",
                                       ps.next_offset, log_start, log_end)});
  }
}

void fetcher::report_stall(steady::time_point now) {
  if (fetches_in_flight_ > 0) return;
  if (now - last_activity_ < opts_.stall_report_after || now - last_stall_report_ < opts_.stall_report_after) return;
  std::size_t active = 0, backpressure = 0, backoff = 0, resets = 0, other = 0;
  for (const auto& [tp, ps] : parts_) {
    if (ps.phase != part_phase::active) continue;
    ++active;
    if (ps.needs_reset) ++resets;
    else if (ps.closing.size() >= 2) ++backpressure;
    else if (now < ps.not_before) ++backoff;
    else ++other;
  }
  if (active == 0) return;
  last_stall_report_ = now;
  std::vector<std::string> why;
  if (budget_.available() < min_buffer_bytes(opts_.fetch_max_bytes)) {
    why.push_back(fmt::format("memory: {} of {} bytes of backup.max_buffer_bytes are held by fetched data not yet "
                              "stored ({} upload(s) in flight) and a fetch needs {} free",
                              budget_.used(), budget_.limit(), uploader_.in_flight(),
                              min_buffer_bytes(opts_.fetch_max_bytes)));
  }
  if (backpressure) why.push_back(fmt::format("{} partition(s) wait for their segment uploads to finish", backpressure));
  if (backoff) why.push_back(fmt::format("{} partition(s) back off after failed fetches", backoff));
  if (resets) why.push_back(fmt::format("{} partition(s) resolve an offset reset", resets));
  if (other && why.empty()) why.push_back(fmt::format("{} partition(s) wait for a partition leader (metadata refresh)", other));
  log::warn("backup: no fetch for {} s with {} partition(s) still to fetch; waiting for {}",
            std::chrono::duration_cast<std::chrono::seconds>(now - last_activity_).count(), active, fmt::join(why, "; "));
}

}  // namespace kb::pipeline::backup
