#include "storage/object_store.hpp"

#include <memory>

#include <fmt/format.h>

namespace kb::storage {
namespace {

constexpr std::size_t max_key_length = 1024;  // S3's limit, in bytes

result<void> check_segments(std::string_view text, std::string_view what, bool allow_trailing_slash) {
  if (text.size() > max_key_length) {
    return fail(errc::invalid_argument,
                fmt::format("{} is {} bytes long; object keys are limited to {} bytes", what,
                            text.size(), max_key_length));
  }
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return fail(errc::invalid_argument,
                  fmt::format("{} '{}' contains a control character; use printable names", what,
                              text));
    }
  }
  if (text.front() == '/') {
    return fail(errc::invalid_argument,
                fmt::format("{} '{}' starts with '/'; keys are relative to the store's prefix",
                            what, text));
  }
  std::string_view rest = text;
  if (allow_trailing_slash && rest.back() == '/') rest.remove_suffix(1);
  while (true) {
    const auto slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..") {
      return fail(errc::invalid_argument,
                  fmt::format("{} '{}' has an empty, '.' or '..' path segment; such keys could "
                              "escape the store's prefix",
                              what, text));
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return {};
}

}  // namespace

result<void> validate_key(std::string_view key) {
  if (key.empty()) return fail(errc::invalid_argument, "object key is empty");
  if (key.back() == '/') {
    return fail(errc::invalid_argument,
                fmt::format("object key '{}' ends with '/'; that names a folder, not an object",
                            key));
  }
  return check_segments(key, "object key", false);
}

result<void> validate_prefix(std::string_view prefix) {
  if (prefix.empty()) return {};
  return check_segments(prefix, "listing prefix", true);
}

namespace {

/// The default group: every call goes straight to the store, durable on return.
class direct_group final : public commit_group {
 public:
  explicit direct_group(object_store& store) : store_(store) {}
  result<void> put(std::string_view key, byte_view data) override { return store_.put(key, data); }
  result<void> put(std::string_view key, byte_pieces pieces) override { return store_.put(key, pieces); }
  result<std::unique_ptr<object_writer>> open_writer(std::string_view key) override {
    return store_.open_writer(key);
  }
  result<void> sync() override { return {}; }

 private:
  object_store& store_;
};

}  // namespace

result<void> object_store::put(std::string_view key, byte_pieces pieces) {
  if (pieces.size() == 1) return put(key, pieces.front());
  return put(key, byte_view(join_pieces(pieces)));
}

result<void> commit_group::put(std::string_view key, byte_pieces pieces) {
  auto writer = open_writer(key);
  if (!writer) return tl::unexpected(writer.error());
  for (const byte_view p : pieces)
    if (!p.empty())
      if (auto ok = (*writer)->write(p); !ok) return ok;
  return (*writer)->commit();
}

std::unique_ptr<commit_group> object_store::open_commit_group() {
  return std::make_unique<direct_group>(*this);
}

}  // namespace kb::storage
