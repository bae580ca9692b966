// One S3 request, signed and retried: the addressing (path-style or virtual-host), SigV4 with
// the credential chain's current keys, the upload checksum and SSE headers, and the exchange
// through storage/http_transport under storage/http_retry. Shared by the store and its
// multipart uploads.
#pragma once

#include <string>
#include <string_view>

#include "storage/http_transport.hpp"
#include "storage/s3_store.hpp"

namespace kb::storage::s3 {

/// One S3 API call.
struct call {
  std::string method{};
  std::string_view key{};         ///< for messages; empty: the bucket
  std::string path{};             ///< raw path, e.g. object_path(key)
  http_headers query{};           ///< raw names and values
  http_headers headers{};         ///< signed along
  byte_view body{};
  bool unsigned_body = false;    ///< UNSIGNED-PAYLOAD (a checksum header carries the integrity)
  byte_vector* download = nullptr;  ///< a 2xx body lands here (http_request::download)
  byte_pieces body_pieces{};        ///< instead of `body`: sent back to back (no joined copy)
};

class client {
 public:
  explicit client(s3_options options);

  /// Signs and sends with bounded, jittered retries; an error names the object and the fix.
  result<http_response_data> execute(const call& c);

  [[nodiscard]] const s3_options& options() const noexcept { return options_; }
  /// "s3://bucket/prefix/".
  [[nodiscard]] std::string describe() const;
  /// "'key' in s3://bucket/prefix/", or describe() for an empty key.
  [[nodiscard]] std::string object_text(std::string_view key) const;
  [[nodiscard]] std::string bucket_path() const;
  [[nodiscard]] std::string object_path(std::string_view key) const;

  [[nodiscard]] bool crc32c_uploads() const noexcept { return options_.checksum == upload_checksum::crc32c; }
  /// The x-amz-checksum-crc32c of one upload (`part` 0: a single PutObject).
  [[nodiscard]] std::string crc32c_header(byte_view data, int part) const;
  /// The same over the concatenation of `pieces`.
  [[nodiscard]] std::string crc32c_header(byte_pieces pieces, int part) const;
  [[nodiscard]] http_headers sse_headers() const;

 private:
  [[nodiscard]] kb::error to_error(const http_response_data& r, std::string_view method, std::string_view key) const;

  s3_options options_;
  std::string scheme_;
  std::string host_;
  http_transport transport_;
};

}  // namespace kb::storage::s3
