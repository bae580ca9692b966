// Installs protocol's batch columns as storage's frame filter 1.
#include "pipeline/frame_filters.hpp"

#include "protocol/records/batch_columns.hpp"
#include "storage/format/frame_filter.hpp"

namespace kb::pipeline {

namespace sf = storage::format;

namespace {

static_assert(protocol::max_batch_columns_size(1000) <= sf::max_filtered_size(1000) &&
                  protocol::max_batch_columns_size(0) <= sf::max_filtered_size(0),
              "the batch columns must stay within what a segment reader accepts");

void split(byte_view raw, byte_vector& filtered) { protocol::split_batch_columns(raw, filtered); }

kb::result<byte_vector> join(byte_view filtered, std::size_t raw_size) {
  return protocol::join_batch_columns(filtered, raw_size);
}

}  // namespace

void install_frame_filters() {
  sf::install_frame_filter(sf::batch_columns_filter, sf::frame_filter{"batch columns", &split, &join});
}

std::uint8_t frame_filter_for(sf::frame_codec codec) noexcept {
  return codec == sf::frame_codec::none ? sf::no_frame_filter : sf::batch_columns_filter;
}

std::uint32_t frame_target_bytes_for(sf::frame_codec codec) noexcept {
  return codec == sf::frame_codec::zstd ? 8u << 20 : 1u << 20;
}

}  // namespace kb::pipeline
