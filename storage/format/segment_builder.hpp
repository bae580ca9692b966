// Builds one `.kbs` segment in memory: batches into frames, frames sealed for compression on any
// thread, then header, frames, index and trailer assembled (docs/format.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "storage/format/frame_codec.hpp"
#include "storage/format/segment_index.hpp"

namespace kb::storage::format {

/// Builds one segment in memory. Batches go into the open frame until it holds
/// `frame_target_bytes`; then the frame is sealed and handed out raw so that any thread can
/// compress it (encode_frame) before `finish` assembles the segment. Not thread-safe.
class segment_builder {
 public:
  struct options {
    segment_header header;
    int compression_level = 3;
    std::uint32_t frame_target_bytes = 1u << 20;
  };
  /// A sealed frame, raw, waiting to be compressed.
  struct raw_frame {
    std::uint32_t frame = 0;
    byte_vector raw;
  };

  /// A finished segment in pieces whose concatenation is the `.kbs` file: writing them in
  /// order saves assembling one copy of every frame.
  struct parts {
    byte_vector head;                 ///< the segment header
    std::vector<byte_vector> frames;  ///< the stored frames, as given to finish_parts
    byte_vector tail;                 ///< the index and the trailer
    [[nodiscard]] std::uint64_t size() const noexcept;
  };

  explicit segment_builder(options opts);

  /// Copies `batch` into the open frame; entry.frame/position/size are filled in here.
  /// Offsets must increase; a batch may begin inside the recorded gaps that end the segment
  /// so far (log start inside a batch) as long as it ends past them. Returns the sealed frame
  /// when this append filled it.
  [[nodiscard]] std::optional<raw_frame> append(byte_view batch, batch_entry entry);
  /// Overlapping gaps are merged when the segment is finished.
  void add_gap(offset_gap gap);
  /// True when every offset in [first, last] lies in the gaps added so far.
  [[nodiscard]] bool gaps_cover(std::int64_t first, std::int64_t last) const;
  void add_txn_span(txn_span span);
  /// Seals the open frame (if it holds anything) and returns it.
  [[nodiscard]] std::optional<raw_frame> seal_frame();

  [[nodiscard]] bool empty() const noexcept;          ///< no batches and no gaps
  [[nodiscard]] std::uint64_t raw_bytes() const noexcept;
  [[nodiscard]] std::size_t batch_count() const noexcept;
  [[nodiscard]] std::int64_t first_offset() const noexcept;
  [[nodiscard]] std::int64_t last_offset() const noexcept;  ///< of batches and gaps
  [[nodiscard]] const options& opts() const noexcept { return opts_; }

  /// Hands back a frame buffer that has been written out, so a later frame reuses its pages
  /// instead of faulting in fresh ones. Keeps at most two; the rest are freed.
  void recycle_frame(byte_vector buffer);

  /// Assembles header, frames (compressed, indexed by raw_frame::frame, all of them) and the
  /// index footer into the segment's bytes. Call after the last seal_frame.
  [[nodiscard]] kb::result<byte_vector> finish(std::vector<byte_vector> compressed_frames) &&;
  /// Like finish, but returns the pieces instead of one copy of them (same bytes, in order).
  [[nodiscard]] kb::result<parts> finish_parts(std::vector<byte_vector> compressed_frames) &&;

 private:
  options opts_;
  segment_index index_;
  byte_vector open_frame_;
  std::vector<byte_vector> spare_frames_;  ///< recycled buffers for the next frames
  std::int64_t open_frame_min_ts_ = -1;
  std::uint64_t raw_bytes_ = 0;
  std::string misuse_;  ///< the first caller error (offsets out of order), reported by finish
};

}  // namespace kb::storage::format
