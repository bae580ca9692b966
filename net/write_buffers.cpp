#include "net/write_buffers.hpp"

#include <algorithm>
#include <cstring>

namespace kb::net {

namespace {

// protocol::request_pieces::pieces() walks the same way; this one takes the head and splices apart
// (the connection keeps them so) and drops empty views.
std::vector<byte_view> pieces_of(byte_view frame, std::span<const protocol::writer::splice> splices) {
  std::vector<byte_view> pieces;
  pieces.reserve(2 * splices.size() + 1);
  std::size_t from = 0;
  for (const auto& s : splices) {
    if (s.at > from) pieces.push_back(frame.subspan(from, s.at - from));
    if (!s.bytes.empty()) pieces.push_back(s.bytes);
    from = s.at;
  }
  if (frame.size() > from) pieces.push_back(frame.subspan(from));
  return pieces;
}

}  // namespace

std::vector<boost::asio::const_buffer> write_buffers(byte_view frame,
                                                     std::span<const protocol::writer::splice> splices,
                                                     std::size_t join_below, byte_vector& staging) {
  const auto pieces = pieces_of(frame, splices);
  std::vector<boost::asio::const_buffer> out;
  out.reserve(pieces.size());
  const auto small = [&](std::size_t i) { return i < pieces.size() && pieces[i].size() < join_below; };
  // Sized once up front: the buffers below point into staging, so it must not reallocate.
  std::size_t joined = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i)
    if (small(i) && (small(i + 1) || (i > 0 && small(i - 1)))) joined += pieces[i].size();
  staging.clear();
  staging.resize(joined);
  std::size_t at = 0;
  for (std::size_t i = 0; i < pieces.size();) {
    if (!small(i) || !small(i + 1)) {  // large, or a small piece alone: nothing to join it with
      out.emplace_back(pieces[i].data(), pieces[i].size());
      ++i;
      continue;
    }
    const std::size_t start = at;
    for (; small(i); ++i) {
      std::memcpy(staging.data() + at, pieces[i].data(), pieces[i].size());
      at += pieces[i].size();
    }
    out.emplace_back(staging.data() + start, at - start);
  }
  return out;
}

}  // namespace kb::net
