// The S3 backend: PutObject, multipart upload with parallel parts, ranged GetObject,
// HeadObject, ListObjectsV2, DeleteObject; SigV4 on every request; path-style or virtual-host
// addressing; SSE. Requests go through s3::client (storage/s3_client: signing, and the shared
// transport and retries), uploads through storage/s3_upload. Upload bodies carry an
// x-amz-checksum-crc32c (UNSIGNED-PAYLOAD) or, as an option, a signed SHA-256.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "storage/aws_credentials.hpp"
#include "storage/object_store.hpp"
#include "storage/sigv4.hpp"

namespace kb::storage {

enum class sse_mode { none, aes256, aws_kms };

/// How the server checks each uploaded body (PutObject, UploadPart).
enum class upload_checksum {
  crc32c,  ///< x-amz-content-sha256: UNSIGNED-PAYLOAD plus x-amz-checksum-crc32c (cheap, CPU-wise)
  sha256,  ///< the body's SHA-256 signed in x-amz-content-sha256, for stores without checksums
};

struct s3_options {
  std::string bucket;
  std::string prefix;                ///< normalised ("" or "a/b/")
  std::string region = "us-east-1";
  std::string endpoint;              ///< "http://127.0.0.1:7070"; empty: https://s3.<region>.amazonaws.com
  bool path_style = false;           ///< https://host/bucket/key instead of https://bucket.host/key
  aws_credentials credentials;      ///< used when `credential_source` is null
  /// The credential chain's provider (refreshes temporary credentials); wins over `credentials`.
  std::shared_ptr<credential_provider> credential_source;
  sse_mode sse = sse_mode::none;
  std::string sse_kms_key_id;        ///< with aws:kms; empty: the AWS-managed key

  std::size_t part_size = 8u << 20;       ///< multipart above this; at least 5 MiB
  std::size_t max_parallel_parts = 4;     ///< parts in flight per writer
  std::size_t list_page_size = 1000;      ///< max-keys per ListObjectsV2 page
  int max_attempts = 0;                   ///< per request, including the first; 0: the budget alone limits
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds retry_budget{120000};  ///< no retry of a request starts later than this
  std::chrono::milliseconds connect_timeout{10000};
  /// One attempt is abandoned (and retried) when no byte moved for this long, or it moved
  /// slower than 1 KiB/s for this long: the deadline of a silent or frozen endpoint.
  std::chrono::milliseconds stall_timeout{30000};
  upload_checksum checksum = upload_checksum::crc32c;
  std::string ca_file;                     ///< extra trust anchors for https endpoints
  /// The clock used for signatures; defaults to the system clock.
  std::function<std::chrono::system_clock::time_point()> clock;
  /// How the x-amz-checksum-crc32c value of one upload is computed (`part` 0: a single
  /// PutObject, n >= 1: UploadPart n); empty: s3_crc32c_checksum. A seam like `clock`, so a
  /// caller can see what the server does with a value that does not match the body.
  std::function<std::string(byte_view body, int part)> crc32c_checksum;
};

/// Minimum S3 multipart part size (all parts but the last).
inline constexpr std::size_t s3_min_part_size = 5u << 20;

/// The x-amz-checksum-crc32c value of `body`: base64 of its CRC-32C as 4 big-endian bytes.
std::string s3_crc32c_checksum(byte_view body);
/// The same for a CRC-32C already computed (e.g. over a body's pieces).
std::string s3_crc32c_of(std::uint32_t crc);

/// Creates an S3 store; errc::config for invalid options (part size, missing bucket).
/// No request is sent until the first operation.
result<std::unique_ptr<object_store>> make_s3_store(s3_options options);

}  // namespace kb::storage
