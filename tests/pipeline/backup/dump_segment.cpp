// Test tool: prints every batch stored for one partition of a backup as JSON lines
// {"segment","first","last","records","flags","hex"}, read through storage/format (parse and
// verify the whole segment, decode its frames). The pytest suite compares the hex with the
// batches a raw Fetch from the broker returns.
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "pipeline/frame_filters.hpp"
#include "storage/format/manifest.hpp"
#include "storage/format/segment.hpp"
#include "storage/location.hpp"
#include "storage/object_store.hpp"

int main(int argc, char** argv) {
  kb::pipeline::install_frame_filters();  // compressed segments are written with the batch columns
  if (argc != 5) {
    std::fprintf(stderr, "usage: dump_segment STORAGE_URL BACKUP_ID TOPIC PARTITION\n");
    return 2;
  }
  auto store = kb::storage::open_store(argv[1], kb::storage::process_environment());
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().message.c_str());
    return 1;
  }
  const kb::storage::format::backup_paths paths{argv[2]};
  const std::string dir = paths.partition_dir(argv[3], std::stoi(argv[4]));
  auto listing = (*store)->list(dir);
  if (!listing) {
    std::fprintf(stderr, "list: %s\n", listing.error().message.c_str());
    return 1;
  }
  static const char* digits = "0123456789abcdef";
  for (const auto& obj : *listing) {
    if (!obj.key.ends_with(".kbs")) continue;
    auto bytes = (*store)->get(obj.key);
    if (!bytes) {
      std::fprintf(stderr, "get %s: %s\n", obj.key.c_str(), bytes.error().message.c_str());
      return 1;
    }
    auto idx = kb::storage::format::parse_segment(*bytes);
    if (!idx) {
      std::fprintf(stderr, "parse %s: %s\n", obj.key.c_str(), idx.error().message.c_str());
      return 4;
    }
    std::vector<kb::byte_vector> frames;
    for (std::size_t f = 0; f < idx->frames.size(); ++f) {
      const auto& fe = idx->frames[f];
      auto raw = kb::storage::format::decode_frame(idx->header.codec,
                                                   kb::byte_view(*bytes).subspan(fe.file_offset, fe.stored_size),
                                                   fe.raw_size, idx->header.filter);
      if (!raw) {
        std::fprintf(stderr, "frame %zu of %s: %s\n", f, obj.key.c_str(), raw.error().message.c_str());
        return 4;
      }
      frames.push_back(std::move(*raw));
    }
    for (const auto& g : idx->gaps)
      std::printf("{\"segment\":\"%s\",\"gap_first\":%lld,\"gap_last\":%lld}\n", obj.key.c_str(),
                  static_cast<long long>(g.first_offset), static_cast<long long>(g.last_offset));
    for (const auto& t : idx->txns)
      std::printf("{\"segment\":\"%s\",\"txn_pid\":%lld,\"txn_first\":%lld,\"txn_last\":%lld,\"txn_outcome\":%d}\n",
                  obj.key.c_str(), static_cast<long long>(t.producer_id), static_cast<long long>(t.first_offset),
                  static_cast<long long>(t.last_offset), static_cast<int>(t.outcome));
    for (const auto& b : idx->batches) {
      const auto& frame = frames.at(b.frame);
      std::string hex;
      hex.reserve(b.size * 2);
      for (std::uint32_t i = 0; i < b.size; ++i) {
        const auto c = frame.at(b.position + i);
        hex += digits[c >> 4];
        hex += digits[c & 15];
      }
      std::printf("{\"segment\":\"%s\",\"first\":%lld,\"last\":%lld,\"records\":%d,\"flags\":%u,\"hex\":\"%s\"}\n",
                  obj.key.c_str(), static_cast<long long>(b.first_offset), static_cast<long long>(b.last_offset),
                  b.record_count, static_cast<unsigned>(b.flags), hex.c_str());
    }
  }
  return 0;
}
