// Writes valid FetchResponse and MetadataResponse bodies at several versions as a seed corpus:
// `protocol_make_corpus tests/protocol/corpus` creates fetch_response/ and metadata_response/.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "protocol/fetch.hpp"
#include "protocol/metadata.hpp"

namespace {

using namespace kb::protocol;

void write_file(const std::filesystem::path& path, const writer& w) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(w.view().data()),
            static_cast<std::streamsize>(w.view().size()));
}

fetch_response sample_fetch() {
  fetch_response resp;
  fetch_response::partition p;
  p.partition_index = 0;
  p.high_watermark = 100;
  p.last_stable_offset = 100;
  p.log_start_offset = 0;
  p.aborted_transactions = std::vector<fetch_response::aborted_transaction>{{5, 50}};
  p.current_leader = fetch_response::leader_id_and_epoch{1, 2};
  p.records = kb::shared_bytes(kb::byte_vector(32, 0x11));
  fetch_response::partition err;
  err.partition_index = 1;
  err.error_code = 6;
  resp.responses = {{"orders", uuid{}, {p, err}}};
  resp.node_endpoints = {{1, "b1", 9092, std::nullopt}};
  return resp;
}

metadata_response sample_metadata() {
  metadata_response resp;
  resp.brokers = {{1, "b1", 9092, std::string("r1")}, {2, "b2", 9092, std::nullopt}};
  resp.cluster_id.emplace("c");  // not operator=: g++ 12 -O2 misreports -Wrestrict on it
  resp.controller_id = 1;
  resp.topics = {{0, std::string("orders"), uuid{}, false, {{0, 0, 1, 3, {1, 2}, {1, 2}, {}}}, -2147483648},
                 {3, std::string("missing"), uuid{}, false, {}, -2147483648}};
  return resp;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root(argv[1]);
  std::filesystem::create_directories(root / "fetch_response");
  std::filesystem::create_directories(root / "metadata_response");
  for (std::int16_t v : {4, 7, 11, 12, 13, 16, 17}) {
    writer w;
    sample_fetch().encode(w, v);
    write_file(root / "fetch_response" / fmt::format("v{}", v), w);
  }
  for (std::int16_t v : {1, 5, 7, 9, 10, 12, 13}) {
    writer w;
    sample_metadata().encode(w, v);
    write_file(root / "metadata_response" / fmt::format("v{}", v), w);
  }
  return 0;
}
