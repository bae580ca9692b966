#include "storage/byte_pieces.hpp"

#include <algorithm>

#include <openssl/evp.h>

#include "base/base64.hpp"
#include "base/crc32c.hpp"

namespace kb::storage {
namespace {

/// The digest `md` of the pieces, raw.
byte_vector digest_of(byte_pieces pieces, const EVP_MD* md) {
  byte_vector out(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, md, nullptr) == 1;
  for (const byte_view p : pieces)
    if (ok && !p.empty()) ok = EVP_DigestUpdate(ctx, p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, out.data(), &length) == 1;
  EVP_MD_CTX_free(ctx);
  out.resize(ok ? length : 0);
  return out;
}

}  // namespace

std::uint64_t pieces_size(byte_pieces pieces) noexcept {
  std::uint64_t n = 0;
  for (const byte_view p : pieces) n += p.size();
  return n;
}

std::vector<std::vector<byte_view>> split_parts(byte_pieces pieces, std::size_t part_size) {
  std::vector<std::vector<byte_view>> parts;
  std::size_t room = 0;  // bytes the last part can still take
  for (byte_view p : pieces) {
    while (!p.empty()) {
      if (room == 0) {
        parts.emplace_back();
        room = part_size;
      }
      const std::size_t n = std::min(room, p.size());
      parts.back().push_back(p.first(n));
      p = p.subspan(n);
      room -= n;
    }
  }
  return parts;
}

byte_vector join_pieces(byte_pieces pieces) {
  byte_vector out;
  out.reserve(static_cast<std::size_t>(pieces_size(pieces)));
  for (const byte_view p : pieces) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::uint32_t pieces_crc32c(byte_pieces pieces, std::uint32_t crc) noexcept {
  for (const byte_view p : pieces) crc = crc32c_extend(crc, p);
  return crc;
}

std::string pieces_md5_base64(byte_pieces pieces) { return base64_encode(digest_of(pieces, EVP_md5())); }

std::string pieces_sha256_hex(byte_pieces pieces) {
  static constexpr char digits[] = "0123456789abcdef";
  const byte_vector d = digest_of(pieces, EVP_sha256());
  std::string out;
  out.reserve(d.size() * 2);
  for (const std::uint8_t b : d) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xf]);
  }
  return out;
}

}  // namespace kb::storage
