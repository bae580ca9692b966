#include "storage/s3_upload.hpp"

#include <algorithm>
#include <deque>
#include <future>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "base/log.hpp"
#include "storage/s3_error.hpp"
#include "storage/xml.hpp"

namespace kb::storage::s3 {
namespace {

/// One uploaded part as CompleteMultipartUpload lists it.
struct completed_part {
  int number = 0;
  std::string etag;
  std::string crc32c;  ///< x-amz-checksum-crc32c sent with the part; empty with sha256

  bool operator<(const completed_part& other) const noexcept { return number < other.number; }
};

result<std::string> create_multipart(client& c, std::string_view key) {
  http_headers headers = c.sse_headers();
  if (c.crc32c_uploads()) headers.emplace_back("x-amz-checksum-algorithm", "CRC32C");
  auto resp = c.execute({"POST", key, c.object_path(key), {{"uploads", ""}}, std::move(headers)});
  if (!resp) return tl::unexpected(resp.error());
  auto doc = xml::parse(resp->body);
  if (!doc) return tl::unexpected(doc.error());
  std::string id = doc->child_text("UploadId");
  if (id.empty()) {
    return fail(errc::protocol, fmt::format("CreateMultipartUpload for {} returned no UploadId", c.object_text(key)));
  }
  return id;
}

result<completed_part> upload_part(client& c, const std::string& key, const std::string& upload_id, int number,
                                   byte_pieces data) {
  completed_part out;
  out.number = number;
  http_headers headers;
  if (c.crc32c_uploads()) {
    out.crc32c = c.crc32c_header(data, number);
    headers.emplace_back("x-amz-checksum-crc32c", out.crc32c);
  }
  auto resp = c.execute({"PUT", key, c.object_path(key), {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}},
                         std::move(headers), {}, c.crc32c_uploads(), nullptr, data});
  if (!resp) return tl::unexpected(resp.error());
  out.etag = resp->header("etag");
  if (out.etag.empty()) {
    return fail(errc::protocol, fmt::format("UploadPart {} of {} returned no ETag", number, c.object_text(key)));
  }
  return out;
}

result<void> complete_multipart(client& c, std::string_view key, const std::string& upload_id,
                                std::vector<completed_part> parts) {
  std::sort(parts.begin(), parts.end());
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const auto& p : parts) {
    body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag>", p.number, xml::escape(p.etag));
    if (!p.crc32c.empty()) body += fmt::format("<ChecksumCRC32C>{}</ChecksumCRC32C>", p.crc32c);
    body += "</Part>";
  }
  body += "</CompleteMultipartUpload>";
  auto resp = c.execute({"POST", key, c.object_path(key), {{"uploadId", upload_id}},
                         {{"Content-Type", "application/xml"}}, as_bytes(body)});
  if (!resp) return tl::unexpected(resp.error());
  // S3 may answer 200 and still fail: the error is then in the body.
  const error_body err = parse_error_body(resp->body);
  if (!err.code.empty()) {
    return fail(errc::io, fmt::format("CompleteMultipartUpload of {} failed: {}: {}", c.object_text(key), err.code,
                                      err.message));
  }
  return {};
}

void abort_multipart(client& c, std::string_view key, const std::string& upload_id) noexcept {
  auto resp = c.execute({"DELETE", key, c.object_path(key), {{"uploadId", upload_id}}});
  if (!resp && !resp.error().is(errc::not_found)) {
    log::warn("could not abort the multipart upload of {}: {}; an AbortIncompleteMultipartUpload lifecycle rule "
              "will clean it up",
              c.object_text(key), resp.error().message);
  }
}

/// The parts of one upload in flight, at most `limit` at a time; the first failure is kept.
class part_queue {
 public:
  explicit part_queue(std::size_t limit) : limit_(std::max<std::size_t>(1, limit)) {}
  ~part_queue() { drain(); }
  part_queue(const part_queue&) = delete;
  part_queue& operator=(const part_queue&) = delete;

  /// Waits for room, then starts `upload` unless a part already failed.
  template <class Upload>
  result<void> start(Upload&& upload) {
    while (in_flight_.size() >= limit_ && !failed_) wait_oldest();
    if (failed_) return tl::unexpected(*failed_);
    in_flight_.push_back(std::async(std::launch::async, std::forward<Upload>(upload)));
    return {};
  }
  /// Waits for every part; the parts, or the first failure.
  result<std::vector<completed_part>> finish() {
    drain();
    if (failed_) return tl::unexpected(*failed_);
    return std::move(done_);
  }
  void drain() noexcept {
    while (!in_flight_.empty()) wait_oldest();
  }

 private:
  void wait_oldest() noexcept {
    auto r = in_flight_.front().get();
    in_flight_.pop_front();
    if (!r) {
      if (!failed_) failed_ = r.error();
    } else {
      done_.push_back(std::move(*r));
    }
  }

  std::size_t limit_;
  std::deque<std::future<result<completed_part>>> in_flight_;
  std::vector<completed_part> done_;
  std::optional<kb::error> failed_;
};

class writer final : public object_writer {
 public:
  writer(client& c, std::string key) : client_(c), key_(std::move(key)), parts_(c.options().max_parallel_parts) {}
  ~writer() override { abort(); }
  result<void> write(byte_view chunk) override;
  result<void> commit() override;
  void abort() noexcept override;
  [[nodiscard]] std::uint64_t bytes_written() const noexcept override { return written_; }

 private:
  result<void> flush_part();
  result<void> fail_with(kb::error e) {
    abort();
    return tl::unexpected(std::move(e));
  }

  client& client_;
  std::string key_;
  byte_vector buffer_;
  std::string upload_id_;
  part_queue parts_;
  int next_part_ = 1;
  std::uint64_t written_ = 0;
  bool finished_ = false;
};

result<void> writer::write(byte_view chunk) {
  if (finished_) return fail(errc::internal, fmt::format("write to '{}' after commit or abort", key_));
  const std::size_t part_size = client_.options().part_size;
  while (!chunk.empty()) {
    if (buffer_.capacity() < part_size) buffer_.reserve(part_size);
    const std::size_t n = std::min(chunk.size(), part_size - buffer_.size());
    buffer_.insert(buffer_.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    chunk = chunk.subspan(n);
    written_ += n;
    // A full part is sent only once more data follows, so the last part is never empty.
    if (buffer_.size() == part_size && !chunk.empty()) {
      if (auto ok = flush_part(); !ok) return fail_with(ok.error());
    }
  }
  return {};
}

result<void> writer::flush_part() {
  if (upload_id_.empty()) {
    auto id = create_multipart(client_, key_);
    if (!id) return tl::unexpected(id.error());
    upload_id_ = std::move(*id);
  }
  auto data = std::make_shared<byte_vector>(std::move(buffer_));
  buffer_ = byte_vector();
  return parts_.start([this, data, number = next_part_++] {
    const byte_view part(*data);
    return upload_part(client_, key_, upload_id_, number, byte_pieces(&part, 1));
  });
}

result<void> writer::commit() {
  if (finished_) return fail(errc::internal, fmt::format("commit of '{}' after commit or abort", key_));
  if (upload_id_.empty()) {
    finished_ = true;
    return put_object(client_, key_, buffer_, false);
  }
  if (!buffer_.empty()) {
    if (auto ok = flush_part(); !ok) return fail_with(ok.error());
  }
  auto parts = parts_.finish();
  if (!parts) return fail_with(parts.error());
  if (auto ok = complete_multipart(client_, key_, upload_id_, std::move(*parts)); !ok) return fail_with(ok.error());
  finished_ = true;
  upload_id_.clear();
  return {};
}

void writer::abort() noexcept {
  if (finished_) return;
  finished_ = true;
  parts_.drain();
  if (!upload_id_.empty()) {
    abort_multipart(client_, key_, upload_id_);
    upload_id_.clear();
  }
  buffer_.clear();
}

}  // namespace

result<void> put_object(client& c, std::string_view key, byte_view data, bool if_absent) {
  return put_object(c, key, byte_pieces(&data, 1), if_absent);
}

result<void> put_object(client& c, std::string_view key, byte_pieces pieces, bool if_absent) {
  http_headers headers = c.sse_headers();
  if (if_absent) headers.emplace_back("If-None-Match", "*");
  if (c.crc32c_uploads()) headers.emplace_back("x-amz-checksum-crc32c", c.crc32c_header(pieces, 0));
  auto resp = c.execute({"PUT", key, c.object_path(key), {}, std::move(headers), {}, c.crc32c_uploads(), nullptr,
                         pieces});
  if (!resp) return tl::unexpected(resp.error());
  return {};
}

result<void> put_multipart(client& c, std::string_view key, byte_view data) {
  return put_multipart(c, key, byte_pieces(&data, 1));
}

result<void> put_multipart(client& c, std::string_view key, byte_pieces pieces) {
  const std::vector<std::vector<byte_view>> cut = split_parts(pieces, c.options().part_size);
  auto id = create_multipart(c, key);
  if (!id) return tl::unexpected(id.error());
  const std::string name(key);
  result<std::vector<completed_part>> parts = std::vector<completed_part>{};
  {
    part_queue queue(c.options().max_parallel_parts);
    int number = 1;
    result<void> started;
    for (std::size_t i = 0; i < cut.size() && started; ++i, ++number) {
      const byte_pieces part(cut[i]);
      started = queue.start([&c, &name, &id, number, part] { return upload_part(c, name, *id, number, part); });
    }
    parts = queue.finish();  // every part settles before `pieces` may go away
  }
  auto done = parts ? complete_multipart(c, key, *id, std::move(*parts)) : result<void>(tl::unexpected(parts.error()));
  if (done) return {};
  abort_multipart(c, key, *id);
  return done;
}

std::unique_ptr<object_writer> make_writer(client& c, std::string key) {
  return std::make_unique<writer>(c, std::move(key));
}

}  // namespace kb::storage::s3
