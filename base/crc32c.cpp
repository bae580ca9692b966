#include "base/crc32c.hpp"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace kb {

namespace {

// Reflected Castagnoli polynomial.
constexpr std::uint32_t poly = 0x82F63B78u;

using crc_table = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr crc_table make_tables() {
  crc_table t{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ poly : c >> 1;
    t[0][n] = c;
  }
  for (std::uint32_t n = 0; n < 256; ++n) {
    for (std::size_t k = 1; k < 8; ++k) t[k][n] = (t[k - 1][n] >> 8) ^ t[0][t[k - 1][n] & 0xFFu];
  }
  return t;
}

constexpr crc_table tables = make_tables();

std::uint64_t load_le64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// Raw register update (no pre/post inversion).
std::uint32_t portable_update(std::uint32_t crc, const std::uint8_t* p, std::size_t n) noexcept {
  while (n >= 8) {
    const std::uint64_t word = load_le64(p) ^ crc;
    crc = tables[7][word & 0xFFu] ^ tables[6][(word >> 8) & 0xFFu] ^ tables[5][(word >> 16) & 0xFFu] ^
          tables[4][(word >> 24) & 0xFFu] ^ tables[3][(word >> 32) & 0xFFu] ^
          tables[2][(word >> 40) & 0xFFu] ^ tables[1][(word >> 48) & 0xFFu] ^ tables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ tables[0][(crc ^ *p++) & 0xFFu];
  return crc;
}

#if defined(__x86_64__)

// GF(2) arithmetic modulo the reflected polynomial, used to combine interleaved streams:
// the register after A ++ B equals shift(reg(A), |B|) ^ reg_from_zero(B).
constexpr std::uint32_t multmodp(std::uint32_t a, std::uint32_t b) noexcept {
  std::uint32_t m = 1u << 31;
  std::uint32_t p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1u) ? (b >> 1) ^ poly : b >> 1;
  }
  return p;
}

// x^(8n) mod p, i.e. the operator "append n zero bytes".
constexpr std::uint32_t x8nmodp(std::size_t n) noexcept {
  std::uint32_t x2n = 1u << 30;  // x^1
  // Advance to x^8 = x^(2^3).
  for (int k = 0; k < 3; ++k) x2n = multmodp(x2n, x2n);
  std::uint32_t xp = 1u << 31;  // x^0
  while (n != 0) {
    if (n & 1u) xp = multmodp(x2n, xp);
    n >>= 1;
    x2n = multmodp(x2n, x2n);
  }
  return xp;
}

constexpr std::size_t long_block = 8192;
constexpr std::size_t short_block = 256;
constexpr std::uint32_t long_shift = x8nmodp(long_block);
constexpr std::uint32_t short_shift = x8nmodp(short_block);

__attribute__((target("sse4.2"))) std::uint32_t hw_three_way(std::uint32_t crc, const std::uint8_t*& next,
                                                               std::size_t& len, std::size_t block,
                                                               std::uint32_t shift) noexcept {
  // Work on locals so the compiler keeps them in registers (the references alias memory).
  const std::uint8_t* p = next;
  std::size_t n = len;
  while (n >= 3 * block) {
    std::uint64_t c0 = crc;
    std::uint64_t c1 = 0;
    std::uint64_t c2 = 0;
    const std::uint8_t* const end = p + block;
    do {
      c0 = _mm_crc32_u64(c0, load_le64(p));
      c1 = _mm_crc32_u64(c1, load_le64(p + block));
      c2 = _mm_crc32_u64(c2, load_le64(p + 2 * block));
      p += 8;
    } while (p < end);
    crc = multmodp(shift, static_cast<std::uint32_t>(c0)) ^ static_cast<std::uint32_t>(c1);
    crc = multmodp(shift, crc) ^ static_cast<std::uint32_t>(c2);
    p += 2 * block;
    n -= 3 * block;
  }
  next = p;
  len = n;
  return crc;
}

__attribute__((target("sse4.2"))) std::uint32_t hardware_update(std::uint32_t crc, const std::uint8_t* p,
                                                                  std::size_t n) noexcept {
  // Align to 8 bytes first.
  while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7u) != 0) {
    crc = _mm_crc32_u8(crc, *p++);
    --n;
  }
  crc = hw_three_way(crc, p, n, long_block, long_shift);
  crc = hw_three_way(crc, p, n, short_block, short_shift);
  std::uint64_t c = crc;
  while (n >= 8) {
    c = _mm_crc32_u64(c, load_le64(p));
    p += 8;
    n -= 8;
  }
  crc = static_cast<std::uint32_t>(c);
  while (n-- > 0) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

bool detect_hardware() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") != 0;
}

#endif

const bool has_hardware =
#if defined(__x86_64__)
    detect_hardware();
#else
    false;
#endif

}  // namespace

bool crc32c_hardware_available() noexcept { return has_hardware; }

std::uint32_t crc32c_portable(std::uint32_t crc, byte_view data) noexcept {
  return ~portable_update(~crc, data.data(), data.size());
}

std::uint32_t crc32c_hardware(std::uint32_t crc, byte_view data) noexcept {
#if defined(__x86_64__)
  if (has_hardware) return ~hardware_update(~crc, data.data(), data.size());
#endif
  return crc32c_portable(crc, data);
}

std::uint32_t crc32c_extend(std::uint32_t crc, byte_view data) noexcept {
  return crc32c_hardware(crc, data);
}

std::uint32_t crc32c(byte_view data) noexcept { return crc32c_extend(0, data); }

}  // namespace kb
