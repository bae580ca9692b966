// Writes the committed format-v2 fixture tests/storage/format/fixtures/v2/orders-0.kbs: one zstd
// segment with frame filter 1 (batch columns) holding two record batches written by librdkafka
// (testdata/librdkafka none_small.bin at offset 0, none_300.bin moved to offset 4). Run ONCE by
// hand; format_v2_fixture_test.cpp checks that today's readers decode it to the values written
// there by hand. Do not regenerate to make that test pass. Usage: make_format_v2_fixture TESTDATA OUT
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "pipeline/backup/batch_info.hpp"
#include "pipeline/frame_filters.hpp"
#include "protocol/records/record_batch.hpp"
#include "storage/format/frame_filter.hpp"
#include "storage/format/segment.hpp"

namespace {

using namespace kb::storage::format;

kb::byte_vector slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return kb::byte_vector(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_format_v2_fixture TESTDATA_DIR OUT_FILE\n");
    return 2;
  }
  kb::pipeline::install_frame_filters();
  const std::string dir = std::string(argv[1]) + "/librdkafka/";
  kb::byte_vector first = slurp(dir + "none_small.bin");
  kb::byte_vector second = slurp(dir + "none_300.bin");
  for (int i = 0; i < 8; ++i) second[static_cast<std::size_t>(i)] = i == 7 ? 4 : 0;  // base offset 4 (not under the CRC)
  segment_builder::options o;
  o.header = {"orders", 0, frame_codec::zstd, 1'700'000'000'000, batch_columns_filter};
  o.compression_level = 3;
  segment_builder b(o);
  for (auto* bytes : {&first, &second}) {
    auto split = kb::protocol::split_batches(kb::shared_bytes(*bytes));
    if (!split || split->batches.size() != 1) return 1;
    auto entry = kb::pipeline::backup::describe_batch(split->batches[0]);
    if (!entry) return 1;
    if (b.append(*bytes, *entry)) return 1;  // one frame only
  }
  auto frame = b.seal_frame();
  if (!frame) return 1;
  auto stored = encode_frame(frame_codec::zstd, 3, frame->raw, batch_columns_filter);
  if (!stored) return 1;
  std::vector<kb::byte_vector> frames;
  frames.push_back(std::move(*stored));
  auto seg = std::move(b).finish(std::move(frames));
  if (!seg) return 1;
  std::ofstream out(argv[2], std::ios::binary);
  out.write(reinterpret_cast<const char*>(seg->data()), static_cast<std::streamsize>(seg->size()));
  return out ? 0 : 1;
}
