// pipeline/backup/segment_uploader: a partition's segments from sealing to durable — frames compressed on a
// worker pool, the segment written (as pieces, no assembled copy), then its checkpoint moved (invariant 2).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "base/error.hpp"
#include "pipeline/backup/backup_job.hpp"
#include "pipeline/backup/partition_state.hpp"
#include "pipeline/memory_budget.hpp"
#include "pipeline/worker_pool.hpp"

namespace kb::storage {
class commit_group;
class object_store;
}

namespace kb::pipeline::backup {

/// The checkpoint once `seg`, holding offsets first..last, is durable as `key` (bytes_stored is
/// added when the size is known). Pure.
[[nodiscard]] storage::format::partition_checkpoint checkpoint_after(const storage::format::partition_checkpoint& c,
                                                                     const net::topic_partition& tp,
                                                                     const open_segment& seg, std::int64_t first,
                                                                     std::int64_t last, const std::string& key);

/// Writes a finished segment: header, frames and tail handed to the store as pieces, sent or
/// written from where they lie (no assembled copy on any store).
[[nodiscard]] result<void> write_segment(storage::commit_group& group, const std::string& key,
                                         const storage::format::segment_builder::parts& pieces);
/// The same through a group of its own, synced before it returns (the segment is durable).
[[nodiscard]] result<void> write_segment(storage::object_store& store, const std::string& key,
                                         const storage::format::segment_builder::parts& pieces);

/// At most this many segments share one commit group: each holds an open file until the sync, and
/// the group keeps up to as many folders open (file descriptors: 128 per group in flight).
inline constexpr std::size_t max_segments_per_group = 64;

/// Sealing, compression and upload of segments, one upload per partition at a time, under the
/// job's memory budget. Everything but the pool work runs on the io thread. On a store that
/// groups commits (the filesystem), the segments ready at one moment are written as one group:
/// all segments made durable by one sync, then all their checkpoints by a second one, so the
/// journal commits twice per group instead of several times per partition (invariant 2 holds:
/// no checkpoint is written before the sync that made its segment durable returned).
class segment_uploader {
 public:
  struct options {
    storage::format::frame_codec codec = storage::format::frame_codec::zstd;
    int compression_level = 3;
    std::size_t compression_threads = 1;
    std::size_t upload_threads = 1;
    /// Workers (issue #17): a checkpoint never moves a stored one back. A worker whose
    /// partition went to another while it was frozen (a zombie) may still seal and upload; the
    /// new owner's later checkpoint then stays (one read per checkpoint).
    bool keep_newer_checkpoint = false;
  };
  struct hooks {
    std::function<void(error)> on_error;  ///< the job stops with it
    std::function<bool()> failed;         ///< an error is set: start no upload
    std::function<void()> poke;           ///< wake the main loop
  };

  segment_uploader(boost::asio::io_context& io, storage::object_store& store,
                   const storage::format::backup_paths& paths, memory_budget& budget, partition_map& parts,
                   stats& totals, options o, hooks h);
  ~segment_uploader();
  segment_uploader(const segment_uploader&) = delete;
  segment_uploader& operator=(const segment_uploader&) = delete;

  /// The partition's open segment, opened on first use.
  open_segment& current(partition_state& ps);
  /// A sealed frame to the compression pool (uncompressed: kept as is).
  void submit_compress(partition_state& ps, const std::shared_ptr<open_segment>& seg,
                       storage::format::segment_builder::raw_frame f);
  /// Seals the open segment (open transactions recorded) and queues it for upload.
  void close(partition_state& ps);
  /// Time-based rotation: seals every non-empty segment opened before `opened_before`.
  void close_older_than(std::chrono::steady_clock::time_point opened_before);
  /// Starts the partition's next upload when its frames are compressed and memory allows.
  void try_start(partition_state& ps);

  [[nodiscard]] int in_flight() const noexcept { return uploads_in_flight_; }
  /// The pool for blocking store calls (uploads, lease renewals, checkpoints).
  [[nodiscard]] worker_pool& store_pool() noexcept { return *upload_pool_; }
  /// Stops the pools; their completions still posted run on the next io.poll().
  void shutdown();

 private:
  struct upload_result {
    result<storage::format::partition_checkpoint> checkpoint;
    std::uint64_t stored = 0;
    std::vector<byte_vector> spare_frames;  ///< written frame buffers, for the next frames to reuse
  };
  /// A segment to write and the checkpoint to write once it is durable.
  struct upload_item {
    std::shared_ptr<open_segment> seg;
    net::topic_partition tp;
    std::string key;
    std::string checkpoint_key;
    storage::format::partition_checkpoint next;
    std::vector<byte_vector> frames;
  };
  void upload_done(const net::topic_partition& tp, open_segment& seg, upload_result res);
  /// Hands the ready segments to the pool in groups (posted once per io round, so the segments
  /// made ready by one fetch response share a group).
  void dispatch();
  void submit_group(std::vector<upload_item> items);
  /// On the pool: writes the items' segments, syncs, writes their checkpoints, syncs.
  std::vector<upload_result> write_group(std::vector<upload_item>& items);
  /// keep_newer_checkpoint: the stored checkpoint is past this upload's (blocking read).
  bool stored_checkpoint_is_ahead(const upload_item& it);

  boost::asio::io_context& io_;
  storage::object_store& store_;
  const storage::format::backup_paths& paths_;
  memory_budget& budget_;
  partition_map& parts_;
  stats& totals_;
  options opts_;
  hooks hooks_;
  std::unique_ptr<worker_pool> compress_pool_;
  std::unique_ptr<worker_pool> upload_pool_;
  int uploads_in_flight_ = 0;
  std::vector<upload_item> ready_;  ///< started (counted in flight), not yet handed to the pool
  bool dispatch_posted_ = false;
  std::size_t groups_in_flight_ = 0;
};

}  // namespace kb::pipeline::backup
