// The scale-out assignor (sticky, byte-balanced) and its versioned wire bytes.
#include "pipeline/workers/assignor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>

namespace kb::pipeline::workers {

// ---------------------------------------------------------------------------------------------
// assign

namespace {

struct placed_item {
  topic_partition tp;
  std::int64_t cost = 0;
  std::vector<std::size_t> claimants;  ///< member indexes that owned it, ascending
};

// Weights are bytes and may be huge; scale them down together (a shift keeps the ratios) so
// the sum of all costs fits an int64 with room to spare.
std::vector<std::int64_t> costs_of(const std::vector<std::int64_t>& weights) {
  std::int64_t heaviest = 0;
  for (auto w : weights) heaviest = std::max(heaviest, w);
  // n items of at most (heaviest >> shift) + 1 each must sum below 2^61.
  const auto room = static_cast<std::int64_t>((std::uint64_t{1} << 61) / (weights.size() + 1)) - 1;
  int shift = 0;
  while ((heaviest >> shift) > room) ++shift;
  std::vector<std::int64_t> out;
  out.reserve(weights.size());
  for (auto w : weights) out.push_back((std::max<std::int64_t>(w, 0) >> shift) + 1);
  return out;
}

/// What the three placement steps share: the members (sorted ids), the distinct items in
/// partition order with their costs and previous owners, the placement order and the bounds.
struct problem {
  std::vector<std::string> ids;
  std::vector<placed_item> work;
  std::vector<std::size_t> order;  ///< largest cost first; equal costs in partition order
  double upper = 0;         ///< sticky placement keeps an item with its owner up to here
  double lower = 0;         ///< the rebalance's aim: every member within 5 % of the mean ...
  double target_upper = 0;  ///< ... on both sides
};

std::vector<std::string> member_ids(std::span<const member_input> members) {
  std::vector<std::string> ids;
  for (const auto& m : members) ids.push_back(m.member_id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

/// The distinct items (a partition listed twice counts once, with its larger weight), each with
/// the members that claim it, ascending.
std::vector<placed_item> distinct_items(std::span<const member_input> members, std::span<const work_item> items,
                                        const std::vector<std::string>& ids) {
  std::map<topic_partition, std::int64_t> weight_of;
  for (const auto& it : items) {
    auto [pos, inserted] = weight_of.emplace(it.tp, it.weight);
    if (!inserted) pos->second = std::max(pos->second, it.weight);
  }
  std::vector<std::int64_t> weights;
  weights.reserve(weight_of.size());
  for (const auto& [tp, w] : weight_of) weights.push_back(w);
  const auto costs = costs_of(weights);
  std::vector<placed_item> work;
  work.reserve(weight_of.size());
  std::map<topic_partition, std::size_t> item_index;
  for (const auto& [tp, w] : weight_of) {
    item_index.emplace(tp, work.size());
    work.push_back({tp, costs[work.size()], {}});
  }
  for (const auto& m : members) {
    const auto member =
        static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), m.member_id) - ids.begin());
    for (const auto& tp : m.owned) {
      auto found = item_index.find(tp);
      if (found == item_index.end()) continue;  // no longer to do: nothing to keep
      work[found->second].claimants.push_back(member);
    }
  }
  for (auto& w : work) {
    std::sort(w.claimants.begin(), w.claimants.end());
    w.claimants.erase(std::unique(w.claimants.begin(), w.claimants.end()), w.claimants.end());
  }
  return work;
}

problem make_problem(std::span<const member_input> members, std::span<const work_item> items) {
  problem p;
  p.ids = member_ids(members);
  if (p.ids.empty()) return p;
  p.work = distinct_items(members, items, p.ids);
  // Largest first; equal costs in partition order (the work's order, kept by stable_sort).
  p.order.resize(p.work.size());
  for (std::size_t i = 0; i < p.order.size(); ++i) p.order[i] = i;
  std::stable_sort(p.order.begin(), p.order.end(),
                   [&](std::size_t a, std::size_t b) { return p.work[a].cost > p.work[b].cost; });
  std::int64_t total = 0;
  std::int64_t largest = 0;
  for (const auto& w : p.work) {
    total += w.cost;
    largest = std::max(largest, w.cost);
  }
  const double mean = static_cast<double>(total) / static_cast<double>(p.ids.size());
  // Sticky placement may fill a member up to the mean plus one item; the rebalance then aims for
  // 5 % and stops early only where no move helps (every item left on the heaviest costs at least
  // the gap), which is within one item of the mean. A tolerance of one whole item here left 7/6/6/5
  // partitions over 4 members (17 % off) where 6/6/6/6 was one move away, and 15 % let two
  // members split 24 partitions 13/11: a group runs at the pace of its busiest member.
  constexpr double aim = 0.05;
  p.upper = mean + std::max(0.15 * mean, static_cast<double>(largest));
  p.lower = mean - aim * mean;
  p.target_upper = mean + aim * mean;
  return p;
}

/// Steps 1 and 2: a previous owner keeps the item while it stays under the upper bound; the
/// rest go largest-first onto the lightest member (lowest index on a tie). Fills owner and load.
void place(const problem& p, std::vector<std::size_t>& owner, std::vector<std::int64_t>& load) {
  const std::size_t n = p.ids.size();
  load.assign(n, 0);
  owner.assign(p.work.size(), n);  // n: not placed yet
  for (auto i : p.order) {
    for (auto member : p.work[i].claimants) {
      if (static_cast<double>(load[member] + p.work[i].cost) <= p.upper) {
        owner[i] = member;
        load[member] += p.work[i].cost;
        break;
      }
    }
  }
  for (auto i : p.order) {
    if (owner[i] != n) continue;
    const auto lightest = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[i] = lightest;
    load[lightest] += p.work[i].cost;
  }
}

/// Step 3: until every member is within 5 % of the mean, move one item from the heaviest to the
/// lightest member, if one costs less than the gap. Every move shrinks the sum of squared loads,
/// so this ends; where it stops early every member is within one item of the mean. Prefer items that
/// cost no stickiness (the heaviest did not own it before, or the lightest did), then the item
/// nearest half the gap.
void rebalance(const problem& p, std::vector<std::size_t>& owner, std::vector<std::int64_t>& load) {
  const std::size_t n = p.ids.size();
  const auto& work = p.work;
  const auto& order = p.order;
  // Each member's items as ranks in `order`, ascending: the scan below sees the heaviest
  // member's items only, in the same order as a scan of all items would.
  std::vector<std::vector<std::size_t>> held(n);
  for (std::size_t rank = 0; rank < order.size(); ++rank) held[owner[order[rank]]].push_back(rank);
  // By rank, contiguous (the scan is cache-bound): the cost, and the one previous owner (n:
  // none, n + 1: several, then the item's claimants are searched).
  std::vector<std::int64_t> rank_cost(order.size());
  std::vector<std::size_t> rank_claim(order.size());
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const auto& w = work[order[rank]];
    rank_cost[rank] = w.cost;
    rank_claim[rank] = w.claimants.empty() ? n : w.claimants.size() == 1 ? w.claimants.front() : n + 1;
  }
  const std::size_t max_moves = work.size() * n + 16;
  for (std::size_t moves = 0; moves < max_moves; ++moves) {
    const auto heavy = static_cast<std::size_t>(std::max_element(load.begin(), load.end()) - load.begin());
    const auto light = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    if (static_cast<double>(load[heavy]) <= p.target_upper && static_cast<double>(load[light]) >= p.lower) break;
    const std::int64_t gap = load[heavy] - load[light];
    std::size_t best = work.size();
    std::size_t best_rank = 0;
    std::pair<int, std::int64_t> best_key{std::numeric_limits<int>::max(), 0};
    for (auto rank : held[heavy]) {
      const std::int64_t cost = rank_cost[rank];
      if (cost >= gap) continue;
      bool heavy_owned = rank_claim[rank] == heavy;
      bool light_owned = rank_claim[rank] == light;
      if (rank_claim[rank] == n + 1) {
        const auto& c = work[order[rank]].claimants;
        heavy_owned = std::binary_search(c.begin(), c.end(), heavy);
        light_owned = std::binary_search(c.begin(), c.end(), light);
      }
      const int churn = (heavy_owned && !light_owned) ? 1 : 0;
      const std::pair<int, std::int64_t> key{churn, std::abs(gap - 2 * cost)};
      if (key < best_key) {
        best_key = key;
        best = order[rank];
        best_rank = rank;
      }
    }
    if (best == work.size()) break;
    auto& from = held[heavy];
    from.erase(std::lower_bound(from.begin(), from.end(), best_rank));
    auto& to = held[light];
    to.insert(std::lower_bound(to.begin(), to.end(), best_rank), best_rank);
    owner[best] = light;
    load[heavy] -= work[best].cost;
    load[light] += work[best].cost;
  }
}

}  // namespace

assignment assign(std::span<const member_input> members, std::span<const work_item> items) {
  const auto p = make_problem(members, items);
  assignment out;
  for (const auto& id : p.ids) out[id];
  if (p.work.empty()) return out;
  std::vector<std::size_t> owner;
  std::vector<std::int64_t> load;
  place(p, owner, load);
  rebalance(p, owner, load);
  for (std::size_t i = 0; i < p.work.size(); ++i) out[p.ids[owner[i]]].push_back(p.work[i].tp);
  return out;  // work is in partition order, so every list is sorted
}

// ---------------------------------------------------------------------------------------------
// wire bytes: big-endian; version byte, then the kind's fields; partitions grouped by topic as
// u32 topic count, {u16 name length, name, u32 partition count, i32 partitions}.

namespace {

constexpr std::size_t max_topic_name = 249;  // Kafka's limit

class byte_writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) u8(static_cast<std::uint8_t>(v >> s));
  }
  void text(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    for (char c : s) u8(static_cast<std::uint8_t>(c));
  }
  void partitions(std::span<const topic_partition> tps) {
    std::vector<topic_partition> sorted(tps.begin(), tps.end());
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::vector<std::pair<std::string_view, std::vector<std::int32_t>>> topics;
    for (const auto& tp : sorted) {
      if (topics.empty() || topics.back().first != tp.topic) topics.emplace_back(tp.topic, std::vector<std::int32_t>{});
      topics.back().second.push_back(tp.partition);
    }
    u32(static_cast<std::uint32_t>(topics.size()));
    for (const auto& [name, parts] : topics) {
      text(name);
      u32(static_cast<std::uint32_t>(parts.size()));
      for (auto p : parts) u32(static_cast<std::uint32_t>(p));
    }
  }
  std::vector<std::byte> take() { return std::move(out_); }

 private:
  std::vector<std::byte> out_;
};

class byte_reader {
 public:
  byte_reader(std::span<const std::byte> bytes, std::string_view what) : bytes_(bytes), what_(what) {}

  [[nodiscard]] std::size_t left() const noexcept { return bytes_.size() - pos_; }
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }

  kb::result<std::uint32_t> uint(std::size_t size, std::string_view field) {
    if (left() < size) {
      return fail(errc::protocol, std::string(what_) + ": truncated at byte " + std::to_string(pos_) + " reading " +
                                      std::string(field) + " (" + std::to_string(size) + " bytes needed, " +
                                      std::to_string(left()) + " left)" + hint);
    }
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < size; ++i) v = (v << 8) | static_cast<std::uint8_t>(bytes_[pos_ + i]);
    pos_ += size;
    return v;
  }
  kb::result<std::string> text(std::string_view field) {
    auto size = uint(2, std::string(field) + " length");
    if (!size) return fail(size.error());
    if (left() < *size) {
      return fail(errc::protocol, std::string(what_) + ": " + std::string(field) + " at byte " + std::to_string(pos_) +
                                      " claims " + std::to_string(*size) + " bytes but " + std::to_string(left()) +
                                      " are left" + hint);
    }
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), *size);
    pos_ += *size;
    return s;
  }
  kb::result<std::vector<topic_partition>> partitions() {
    auto topics = uint(4, "the topic count");
    if (!topics) return fail(topics.error());
    // Each topic takes at least 6 bytes: a count beyond that is a lie, not a reason to allocate.
    if (*topics > left() / 6) return bad("topic count " + std::to_string(*topics) + " exceeds what " +
                                         std::to_string(left()) + " remaining bytes can hold");
    std::vector<topic_partition> out;
    std::set<std::string> seen;
    for (std::uint32_t t = 0; t < *topics; ++t) {
      const auto at = pos_;
      auto name = text("topic name #" + std::to_string(t));
      if (!name) return fail(name.error());
      if (auto why = bad_topic_name(*name); !why.empty()) {
        return bad("topic name #" + std::to_string(t) + " at byte " + std::to_string(at) + " " + why);
      }
      if (!seen.insert(*name).second) return bad("topic '" + *name + "' is listed twice");
      auto count = uint(4, "the partition count of topic '" + *name + "'");
      if (!count) return fail(count.error());
      if (*count > left() / 4) return bad("partition count " + std::to_string(*count) + " of topic '" + *name +
                                          "' exceeds what " + std::to_string(left()) + " remaining bytes can hold");
      std::int32_t previous = -1;
      for (std::uint32_t p = 0; p < *count; ++p) {
        auto raw = uint(4, "a partition of topic '" + *name + "'");
        if (!raw) return fail(raw.error());
        const auto partition = static_cast<std::int32_t>(*raw);
        if (partition < 0) return bad("topic '" + *name + "' lists negative partition " + std::to_string(partition));
        if (partition <= previous) {
          return bad("topic '" + *name + "' lists partition " + std::to_string(partition) + " after " +
                     std::to_string(previous) + " (partitions must be ascending and distinct)");
        }
        previous = partition;
        out.push_back({*name, partition});
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  kb::result<void> version() {
    auto v = uint(1, "the version byte");
    if (!v) return fail(v.error());
    if (*v == 0) return bad("version 0 is not a valid version (this build writes and reads version " +
                            std::to_string(wire_version) + ")");
    version_ = static_cast<std::uint8_t>(*v);
    return {};
  }
  // A newer writer may append fields; bytes after ours are an error only at our own version.
  kb::result<void> finish() {
    if (left() != 0 && version_ <= wire_version) {
      return bad(std::to_string(left()) + " unexpected bytes after the end at byte " + std::to_string(pos_));
    }
    return {};
  }

  tl::unexpected<kb::error> bad(const std::string& why) const {
    return fail(errc::protocol, std::string(what_) + ": " + why + hint);
  }

 private:
  static std::string bad_topic_name(std::string_view name) {
    if (name.empty()) return "is empty";
    if (name.size() > max_topic_name) return "is " + std::to_string(name.size()) + " bytes long (Kafka allows 249)";
    for (char c : name) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
      if (!ok) return "holds a character Kafka does not allow in topic names (byte " + std::to_string(
                                                                                          static_cast<unsigned char>(c)) + ")";
    }
    return {};
  }

  static constexpr std::string_view hint_text =
      " (sent by another member of the worker group: are all workers the same kafka-backup version, and is"
      " the group id used only by kafka-backup?)";
  // NOLINTNEXTLINE(cert-err58-cpp): a constant-sized string; allocation failure at start-up ends the process anyway
  inline static const std::string hint{hint_text};

  std::span<const std::byte> bytes_;
  std::string_view what_;
  std::size_t pos_ = 0;
  std::uint8_t version_ = 0;
};

std::span<const std::byte> as_std_bytes(kb::byte_view bytes) {
  return {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()};
}

}  // namespace

std::vector<std::byte> encode_member_metadata(const member_input& member) {
  byte_writer w;
  w.u8(wire_version);
  w.text(std::string_view(member.member_id).substr(0, std::numeric_limits<std::uint16_t>::max()));
  w.partitions(member.owned);
  return w.take();
}

kb::result<member_input> decode_member_metadata(std::span<const std::byte> bytes) {
  byte_reader r(bytes, "worker group member metadata");
  if (auto v = r.version(); !v) return fail(v.error());
  member_input out;
  auto id = r.text("the member id");
  if (!id) return fail(id.error());
  out.member_id = std::move(*id);
  auto owned = r.partitions();
  if (!owned) return fail(owned.error());
  out.owned = std::move(*owned);
  if (auto end = r.finish(); !end) return fail(end.error());
  return out;
}

kb::result<member_input> decode_member_metadata(kb::byte_view bytes) {
  return decode_member_metadata(as_std_bytes(bytes));
}

std::vector<std::byte> encode_assignment(std::span<const topic_partition> partitions, std::int32_t generation) {
  byte_writer w;
  w.u8(wire_version);
  w.u32(static_cast<std::uint32_t>(generation));
  w.partitions(partitions);
  return w.take();
}

kb::result<member_assignment> decode_assignment(std::span<const std::byte> bytes) {
  byte_reader r(bytes, "worker group assignment");
  if (auto v = r.version(); !v) return fail(v.error());
  member_assignment out;
  auto generation = r.uint(4, "the generation");
  if (!generation) return fail(generation.error());
  out.generation = static_cast<std::int32_t>(*generation);
  if (out.generation < 0) return r.bad("negative generation " + std::to_string(out.generation));
  auto parts = r.partitions();
  if (!parts) return fail(parts.error());
  out.partitions = std::move(*parts);
  if (auto end = r.finish(); !end) return fail(end.error());
  return out;
}

kb::result<member_assignment> decode_assignment(kb::byte_view bytes) { return decode_assignment(as_std_bytes(bytes)); }

}  // namespace kb::pipeline::workers
