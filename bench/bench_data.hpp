// Shared inputs for the microbenchmarks: deterministic JSON-ish payloads and record batches.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "base/bytes.hpp"
#include "protocol/records/record_batch.hpp"

namespace kb::bench {

/// Telemetry-like JSON lines (repeated field names, ids, timestamps): compressible like D2.
inline byte_vector json_payload(std::size_t n, std::uint32_t seed = 42) {
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(n + 256);
  static const char* const events[] = {"click", "view", "purchase", "login", "logout", "scroll"};
  while (s.size() < n) {
    s += R"({"id":")" + std::to_string(rng()) + R"(","user_id":)" + std::to_string(rng() % 100000) +
         R"(,"event":")" + events[rng() % 6] + R"(","ts":)" + std::to_string(1700000000000ULL + rng() % 1000000) +
         R"(,"amount":)" + std::to_string(rng() % 10000) + "." + std::to_string(rng() % 100) +
         R"(,"tags":["a","b"],"ok":true})" + "\n";
  }
  s.resize(n);
  return byte_vector(s.begin(), s.end());
}

/// One v2 batch of `count` records with `value_size`-byte JSON values and 16-byte keys.
inline byte_vector make_batch(protocol::compression_codec codec, int count, std::size_t value_size,
                              std::int64_t base_offset = 0) {
  protocol::batch_options o;
  o.codec = codec;
  o.base_offset = base_offset;
  protocol::record_batch_builder b(o);
  const auto values = json_payload(value_size * static_cast<std::size_t>(count), 7);
  for (int i = 0; i < count; ++i) {
    const std::string key = "key-" + std::to_string(1000000000000LL + i);
    b.add(1700000000000 + i, as_bytes(key),
          byte_view(values).subspan(static_cast<std::size_t>(i) * value_size, value_size));
  }
  return *b.build();
}

}  // namespace kb::bench
