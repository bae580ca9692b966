// S3 uploads: PutObject (optionally If-None-Match: *), multipart uploads (create, parallel
// UploadPart with a CRC-32C per part, complete, abort), a whole in-memory object (one buffer or
// pieces) sent as parts without a copy, and the streaming writer that buffers one part at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/object_store.hpp"
#include "storage/s3_client.hpp"

namespace kb::storage::s3 {

/// One PutObject; errc::conflict when `if_absent` and the key exists.
result<void> put_object(client& c, std::string_view key, byte_view data, bool if_absent);

/// One PutObject whose body is the pieces sent back to back.
result<void> put_object(client& c, std::string_view key, byte_pieces pieces, bool if_absent);

/// `data` as a multipart upload, its parts sent straight from `data` (which outlives the call).
result<void> put_multipart(client& c, std::string_view key, byte_view data);
/// The pieces as a multipart upload: parts cut across piece boundaries, each sent from where its
/// bytes lie (a part may span pieces: no copy). The pieces outlive the call.
result<void> put_multipart(client& c, std::string_view key, byte_pieces pieces);

/// A streaming writer: PutObject when everything fits one part, else a multipart upload with
/// up to options().max_parallel_parts parts in flight.
std::unique_ptr<object_writer> make_writer(client& c, std::string key);

}  // namespace kb::storage::s3
