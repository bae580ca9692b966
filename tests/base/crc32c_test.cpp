#include "base/crc32c.hpp"

#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace kb {
namespace {

using crc_fn = std::uint32_t (*)(std::uint32_t, byte_view);

struct vector_case {
  std::vector<std::uint8_t> data;
  std::uint32_t expected;
};

// RFC 3720 appendix B.4 test vectors plus the catalogue check value for "123456789".
std::vector<vector_case> published_vectors() {
  std::vector<vector_case> v;
  v.push_back({std::vector<std::uint8_t>(32, 0x00), 0x8A9136AAu});
  v.push_back({std::vector<std::uint8_t>(32, 0xFF), 0x62A8AB43u});
  std::vector<std::uint8_t> inc(32), dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
    dec[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(31 - i);
  }
  v.push_back({inc, 0x46DD794Eu});
  v.push_back({dec, 0x113FDB5Cu});
  // iSCSI SCSI Read (10) command PDU.
  v.push_back({{0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
                0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
               0xD9963A56u});
  const std::string check = "123456789";
  v.push_back({std::vector<std::uint8_t>(check.begin(), check.end()), 0xE3069283u});
  v.push_back({{}, 0x00000000u});
  return v;
}

void expect_vectors(crc_fn fn) {
  for (const auto& c : published_vectors()) {
    EXPECT_EQ(fn(0, c.data), c.expected) << "length " << c.data.size();
  }
}

TEST(crc32c, portable_matches_published_vectors) { expect_vectors(&crc32c_portable); }

TEST(crc32c, hardware_matches_published_vectors) {
  if (!crc32c_hardware_available()) GTEST_SKIP() << "CPU lacks SSE4.2";
  expect_vectors(&crc32c_hardware);
}

TEST(crc32c, dispatch_matches_published_vectors) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32c(as_bytes(check)), 0xE3069283u);
}

TEST(crc32c, hardware_equals_portable_on_all_lengths_and_alignments) {
  if (!crc32c_hardware_available()) GTEST_SKIP() << "CPU lacks SSE4.2";
  std::mt19937 rng(12345);
  std::vector<std::uint8_t> buf(3 * 8192 * 2 + 4096);
  for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
  // Lengths around the 3-way block thresholds (3*256 and 3*8192) and odd alignments.
  const std::size_t lengths[] = {0, 1, 7, 8, 9, 63, 767, 768, 769, 1000, 24575, 24576, 24577, 49152, 50000};
  for (std::size_t len : lengths) {
    for (std::size_t start = 0; start < 9; ++start) {
      const byte_view v(buf.data() + start, len);
      ASSERT_EQ(crc32c_hardware(0, v), crc32c_portable(0, v)) << "len " << len << " start " << start;
    }
  }
}

TEST(crc32c, extend_equals_one_shot) {
  const std::string text = "The quick brown fox jumps over the lazy dog, repeatedly, for CRC testing.";
  const auto all = as_bytes(text);
  for (std::size_t cut = 0; cut <= all.size(); cut += 5) {
    const auto a = all.first(cut);
    const auto b = all.subspan(cut);
    EXPECT_EQ(crc32c_extend(crc32c(a), b), crc32c(all));
    EXPECT_EQ(crc32c_portable(crc32c_portable(0, a), b), crc32c(all));
    EXPECT_EQ(crc32c_hardware(crc32c_hardware(0, a), b), crc32c(all));
  }
}

}  // namespace
}  // namespace kb
