// Writes the seed corpus of fuzz_parse_segment: small valid segments for every frame codec,
// with gaps, transactional spans and a control batch. Usage: make_corpus OUT_DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "protocol/records/record_batch.hpp"
#include "storage/format/frame_filter.hpp"
#include "storage/format/segment.hpp"

namespace {

using namespace kb::storage::format;

kb::byte_vector make_segment(frame_codec codec) {
  segment_builder::options o;
  o.header = {"fuzz", 1, codec, 1'700'000'000'000};
  o.frame_target_bytes = 200;
  segment_builder b(o);
  std::vector<segment_builder::raw_frame> sealed;
  std::int64_t offset = 10;
  for (int i = 0; i < 4; ++i) {
    kb::protocol::batch_options bo;
    bo.base_offset = offset;
    kb::protocol::record_batch_builder rb(bo);
    for (int r = 0; r < 3; ++r) {
      const std::string v = "value-" + std::to_string(i) + "-" + std::to_string(r);
      rb.add(1'700'000'000'000 + i * 10 + r, std::nullopt, kb::as_bytes(v));
    }
    auto bytes = rb.build();
    if (!bytes) return {};
    batch_entry e{offset, offset + 2, 1'700'000'000'000 + i * 10, 1'700'000'000'000 + i * 10 + 2, 3};
    if (auto f = b.append(*bytes, e)) sealed.push_back(std::move(*f));
    offset += 3;
  }
  auto marker = kb::protocol::build_control_batch(kb::protocol::control_type::commit, 9, 0, 1, 1'700'000'000'100, offset);
  if (!marker) return {};
  batch_entry m{offset, offset, 1'700'000'000'100, 1'700'000'000'100, 1, batch_flags::control | batch_flags::commit_marker,
                9, 0, -1};
  if (auto f = b.append(*marker, m)) sealed.push_back(std::move(*f));
  b.add_gap({0, 9});
  b.add_txn_span({9, 0, 13, offset, txn_outcome::committed});
  if (auto f = b.seal_frame()) sealed.push_back(std::move(*f));
  std::vector<kb::byte_vector> compressed(sealed.size());
  for (auto& f : sealed) compressed.at(f.frame) = *encode_frame(codec, 3, f.raw, no_frame_filter);
  auto seg = std::move(b).finish(std::move(compressed));
  return seg ? *seg : kb::byte_vector{};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  for (auto [codec, name] : {std::pair{frame_codec::none, "none"}, std::pair{frame_codec::lz4, "lz4"},
                             std::pair{frame_codec::zstd, "zstd"}}) {
    const auto seg = make_segment(codec);
    if (seg.empty()) return 1;
    std::ofstream out(std::string(argv[1]) + "/" + name + ".kbs", std::ios::binary);
    out.write(reinterpret_cast<const char*>(seg.data()), static_cast<std::streamsize>(seg.size()));
  }
  return 0;
}
