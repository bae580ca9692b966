// Test fixture for the restore tests (not a test itself): copies topics from a real broker into
// a backup set with the storage format's segment builder and manifests — batches stored as
// fetched (read_uncommitted, control batches kept), small frames so windows span several.
//
//   restore_make_backup_set --bootstrap HOST:PORT --path DIR --backup-id ID --topic T [--topic T2]
//       [--frame-bytes N] [--segment-batches N] [--group G:TOPIC:PARTITION:OFFSET ...]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "net/cluster.hpp"
#include "protocol/fetch.hpp"
#include "protocol/list_offsets.hpp"
#include "protocol/records/record_batch.hpp"
#include "storage/format/frame_filter.hpp"
#include "storage/format/manifest.hpp"
#include "storage/format/segment.hpp"
#include "storage/location.hpp"
#include "storage/object_store.hpp"

namespace {

namespace asio = boost::asio;
namespace sf = kb::storage::format;
using namespace std::chrono_literals;

struct args {
  std::string bootstrap;
  std::string path;
  std::string backup_id;
  std::vector<std::string> topics;
  std::uint32_t frame_bytes = 4096;
  std::size_t segment_batches = 50;
  std::vector<std::string> groups;
};

template <class T>
kb::result<T> run(asio::io_context& io, asio::awaitable<kb::result<T>> task) {
  std::optional<kb::result<T>> out;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, kb::result<T> r) {
    out = e ? kb::result<T>(kb::fail(kb::errc::internal, "coroutine threw")) : std::move(r);
  });
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!out && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(20ms);
  }
  if (!out) return kb::fail(kb::errc::timeout, "fixture task did not finish in 120 s");
  return std::move(*out);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The index entry a backup writes for one fetched batch, from its header (and marker record).
kb::result<sf::batch_entry> entry_of(const kb::protocol::fetched_batch& b) {
  sf::batch_entry e;
  e.first_offset = b.base_offset;
  e.last_offset = b.last_offset;
  if (b.magic < 2) {
    auto recs = kb::protocol::read_records(b.bytes);
    if (!recs) return kb::fail(recs.error());
    e.flags = sf::batch_flags::legacy;
    e.record_count = static_cast<std::int32_t>(recs->size());
    if (!recs->records.empty()) {
      e.first_offset = recs->records.front().offset;
      e.first_timestamp = recs->records.front().timestamp;
      for (const auto& r : *recs) e.max_timestamp = std::max(e.max_timestamp, r.timestamp);
    }
    return e;
  }
  auto h = kb::protocol::record_batch_header::parse(b.bytes.view());
  if (!h) return kb::fail(h.error());
  e.first_timestamp = h->base_timestamp();
  e.max_timestamp = h->max_timestamp();
  e.record_count = h->records_count();
  e.producer_id = h->producer_id();
  e.producer_epoch = h->producer_epoch();
  e.base_sequence = h->base_sequence();
  if (h->is_transactional()) e.flags |= sf::batch_flags::transactional;
  if (h->ts_type() == kb::protocol::timestamp_type::log_append_time) e.flags |= sf::batch_flags::log_append_time;
  if (h->is_control()) {
    e.flags |= sf::batch_flags::control;
    auto recs = kb::protocol::read_records(b.bytes);
    if (!recs) return kb::fail(recs.error());
    for (const auto& r : *recs) {
      auto c = kb::protocol::parse_control_record(r);
      if (!c) continue;
      e.flags |= c->type == kb::protocol::control_type::commit ? sf::batch_flags::commit_marker : sf::batch_flags::abort_marker;
    }
  }
  return e;
}

kb::result<void> write_segment(kb::storage::object_store& store, const sf::backup_paths& paths, const std::string& topic,
                               std::int32_t partition, sf::segment_builder& builder,
                               std::vector<sf::segment_builder::raw_frame>& frames, sf::partition_checkpoint& cp) {
  if (auto f = builder.seal_frame()) frames.push_back(std::move(*f));
  std::vector<kb::byte_vector> compressed(frames.size());
  for (auto& f : frames) {
    auto enc = sf::encode_frame(sf::frame_codec::zstd, 3, f.raw, sf::no_frame_filter);
    if (!enc) return kb::fail(enc.error());
    if (f.frame >= compressed.size()) compressed.resize(f.frame + 1);
    compressed[f.frame] = std::move(*enc);
  }
  const auto first = builder.first_offset();
  const auto last = builder.last_offset();
  const auto raw = builder.raw_bytes();
  auto bytes = std::move(builder).finish(std::move(compressed));
  if (!bytes) return kb::fail(bytes.error());
  const std::string key = paths.segment(topic, partition, first, last);
  if (auto r = store.put(key, *bytes); !r) return r;
  cp.last_segment = key;
  cp.segments += 1;
  cp.bytes_raw += raw;
  cp.bytes_stored += bytes->size();
  if (cp.first_offset < 0) cp.first_offset = first;
  frames.clear();
  return {};
}

asio::awaitable<kb::result<void>> copy_partition(std::shared_ptr<kb::net::cluster> c, kb::storage::object_store& store,
                                                 const args& a, const std::string& topic, std::int32_t partition) {
  const sf::backup_paths paths{a.backup_id};
  auto leader = c->leader({topic, partition});
  if (!leader) co_return kb::fail(leader.error());
  kb::protocol::list_offsets_request lo;
  kb::protocol::list_offsets_request::topic lt;
  lt.name = topic;
  kb::protocol::list_offsets_request::partition lp;
  lp.partition_index = partition;
  lp.timestamp = kb::protocol::earliest_timestamp;
  lt.partitions.push_back(lp);
  lo.topics.push_back(lt);
  auto first = co_await c->async_send(*leader, lo);
  if (!first) co_return kb::fail(first.error());
  lo.topics[0].partitions[0].timestamp = kb::protocol::latest_timestamp;
  auto end = co_await c->async_send(*leader, lo);
  if (!end) co_return kb::fail(end.error());
  std::int64_t next = first->topics[0].partitions[0].offset;
  const std::int64_t stop = end->topics[0].partitions[0].offset;

  sf::partition_checkpoint cp;
  cp.topic = topic;
  cp.partition = partition;
  std::optional<sf::segment_builder> builder;
  std::vector<sf::segment_builder::raw_frame> frames;
  auto open = [&] {
    sf::segment_builder::options o;
    o.header.topic = topic;
    o.header.partition = partition;
    o.header.codec = sf::frame_codec::zstd;
    o.header.created_ms = now_ms();
    o.frame_target_bytes = a.frame_bytes;
    builder.emplace(o);
  };
  const auto* info = c->find_topic(topic);
  for (int rounds = 0; next < stop && rounds < 100000; ++rounds) {
    kb::protocol::fetch_request f;
    f.max_wait_ms = 100;
    f.max_bytes = 4 << 20;
    f.isolation = kb::protocol::isolation_level::read_uncommitted;
    kb::protocol::fetch_request::topic ft;
    ft.topic = topic;
    ft.topic_id = info->topic_id;
    kb::protocol::fetch_request::partition fp;
    fp.partition = partition;
    fp.fetch_offset = next;
    fp.partition_max_bytes = 1 << 20;
    ft.partitions.push_back(fp);
    f.topics.push_back(ft);
    auto resp = co_await c->async_send(*leader, f);
    if (!resp) co_return kb::fail(resp.error());
    const auto& p = resp->responses.at(0).partitions.at(0);
    if (p.error_code != 0) co_return kb::fail(kb::errc::broker, fmt::format("fetch error {}", p.error_code));
    if (!p.records || p.records->empty()) continue;
    auto split = kb::protocol::split_batches(*p.records);
    if (!split) co_return kb::fail(split.error());
    for (const auto& b : split->batches) {
      if (b.last_offset < next) continue;
      auto e = entry_of(b);
      if (!e) co_return kb::fail(e.error());
      if (!builder) open();
      if (auto sealed = builder->append(b.bytes.view(), *e)) frames.push_back(std::move(*sealed));
      if (!(e->flags & sf::batch_flags::control)) cp.records += static_cast<std::uint64_t>(e->record_count);
      if (e->first_timestamp >= 0 && (cp.min_timestamp < 0 || e->first_timestamp < cp.min_timestamp))
        cp.min_timestamp = e->first_timestamp;
      cp.max_timestamp = std::max(cp.max_timestamp, e->max_timestamp);
      next = b.last_offset + 1;
      if (builder->batch_count() >= a.segment_batches) {
        if (auto r = write_segment(store, paths, topic, partition, *builder, frames, cp); !r) co_return r;
        builder.reset();
      }
    }
  }
  if (builder && !builder->empty()) {
    if (auto r = write_segment(store, paths, topic, partition, *builder, frames, cp); !r) co_return r;
  }
  cp.next_offset = next;
  cp.updated_ms = now_ms();
  const std::string text = sf::to_json(cp);
  co_return store.put(paths.checkpoint(topic, partition), kb::as_bytes(text));
}

asio::awaitable<kb::result<void>> async_main(asio::io_context& io, const args& a) {
  kb::net::cluster_options opts;
  opts.bootstrap_servers = {a.bootstrap};
  opts.connection.client_id = "kb-restore-fixture";
  auto c = kb::net::cluster::create(io.get_executor(), opts);
  if (auto r = co_await c->async_bootstrap(); !r) co_return r;
  auto store = kb::storage::open_store(a.path, kb::storage::process_environment());
  if (!store) co_return kb::fail(store.error());
  const sf::backup_paths paths{a.backup_id};
  sf::backup_manifest m;
  m.tool_version = "restore-test-fixture";
  m.backup_id = a.backup_id;
  m.source_cluster_id = c->cluster_id().value_or("");
  m.bootstrap_servers = {a.bootstrap};
  m.created_ms = m.updated_ms = now_ms();
  m.mode = "snapshot";
  m.compression = "zstd";
  m.topics = a.topics;
  for (const auto& t : a.topics) {
    const auto* info = c->find_topic(t);
    if (info == nullptr) co_return kb::fail(kb::errc::not_found, "no topic " + t);
    sf::topic_manifest tm;
    tm.name = t;
    tm.partition_count = static_cast<std::int32_t>(info->partitions.size());
    tm.replication_factor = 1;
    const std::string text = sf::to_json(tm);
    if (auto r = (*store)->put(paths.topic_manifest(t), kb::as_bytes(text)); !r) co_return r;
    for (const auto& p : info->partitions) {
      if (auto r = co_await copy_partition(c, **store, a, t, p.partition); !r) co_return r;
    }
  }
  if (!a.groups.empty()) {
    sf::group_snapshot gs;
    gs.captured_ms = now_ms();
    for (const auto& g : a.groups) {
      // G:TOPIC:PARTITION:OFFSET (topic names hold no ':')
      const auto c1 = g.find(':'), c3 = g.rfind(':'), c2 = g.rfind(':', c3 - 1);
      sf::group_offset off;
      off.topic = g.substr(c1 + 1, c2 - c1 - 1);
      off.partition = std::stoi(g.substr(c2 + 1, c3 - c2 - 1));
      off.offset = std::stoll(g.substr(c3 + 1));
      gs.groups[g.substr(0, c1)].push_back(off);
    }
    const std::string text = sf::to_json(gs);
    if (auto r = (*store)->put(paths.group_snapshot(gs.captured_ms), kb::as_bytes(text)); !r) co_return r;
  }
  const std::string text = sf::to_json(m);
  if (auto r = (*store)->put(paths.backup_manifest(), kb::as_bytes(text)); !r) co_return r;
  c->close();
  co_return kb::result<void>{};
}

}  // namespace

int main(int argc, char** argv) {
  args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--bootstrap") a.bootstrap = v;
    else if (k == "--path") a.path = v;
    else if (k == "--backup-id") a.backup_id = v;
    else if (k == "--topic") a.topics.push_back(v);
    else if (k == "--frame-bytes") a.frame_bytes = static_cast<std::uint32_t>(std::stoul(v));
    else if (k == "--segment-batches") a.segment_batches = std::stoul(v);
    else if (k == "--group") a.groups.push_back(v);
    else {
      std::fprintf(stderr, "unknown argument %s\n", k.c_str());
      return 2;
    }
  }
  if (a.bootstrap.empty() || a.path.empty() || a.backup_id.empty() || a.topics.empty()) {
    std::fprintf(stderr, "usage: restore_make_backup_set --bootstrap H:P --path DIR --backup-id ID --topic T ...\n");
    return 2;
  }
  asio::io_context io;
  auto r = run(io, async_main(io, a));
  if (!r) {
    std::fprintf(stderr, "make_backup_set: %s\n", r.error().message.c_str());
    return 1;
  }
  return 0;
}
