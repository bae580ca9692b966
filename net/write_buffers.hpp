// The buffer sequence one request frame goes out as: its own bytes with the borrowed batches between them.
#pragma once

#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <span>
#include <vector>

#include "base/bytes.hpp"
#include "protocol/wire.hpp"

namespace kb::net {

/// Buffers below this size are joined before a TLS write: Asio's TLS stream hands a sequence to
/// SSL_write one buffer at a time, so every buffer costs at least one TLS record and one socket write.
inline constexpr std::size_t tls_join_below = 16 * 1024;

/// `frame` with each splice's bytes inserted before frame[at], in order. Runs of adjacent buffers
/// smaller than `join_below` are copied together into `staging` (which must outlive the write);
/// larger buffers stay borrowed. `join_below` 0 joins nothing. Empty buffers are dropped.
std::vector<boost::asio::const_buffer> write_buffers(byte_view frame,
                                                     std::span<const protocol::writer::splice> splices,
                                                     std::size_t join_below, byte_vector& staging);

}  // namespace kb::net
