// Byte vocabulary shared by every layer: owned buffers, read-only views, and `shared_bytes`,
// a reference-counted immutable buffer that hands out zero-copy slices (e.g. one fetched
// record batch inside a fetch response).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace kb {

using byte_vector = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;
using mutable_byte_view = std::span<std::uint8_t>;

inline byte_view as_bytes(std::string_view text) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline std::string_view as_text(byte_view bytes) noexcept {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

/// An immutable view that keeps its backing storage alive. Copying is cheap (one refcount);
/// slicing never copies bytes.
class shared_bytes {
 public:
  shared_bytes() = default;
  explicit shared_bytes(byte_vector owned)
      : owner_(std::make_shared<const byte_vector>(std::move(owned))),
        view_(*static_cast<const byte_vector*>(owner_.get())) {}
  /// Takes `size` bytes the caller filled in a plain array: unlike byte_vector, nothing was
  /// zero-filled first (a fresh response body of up to 16 MiB).
  shared_bytes(std::unique_ptr<std::uint8_t[]> owned, std::size_t size)
      : view_(owned.get(), size) {
    owner_ = std::shared_ptr<const std::uint8_t[]>(std::move(owned));
  }

  [[nodiscard]] byte_view view() const noexcept { return view_; }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return view_.data(); }
  [[nodiscard]] std::size_t size() const noexcept { return view_.size(); }
  [[nodiscard]] bool empty() const noexcept { return view_.empty(); }

  /// A sub-range [offset, offset + length) sharing the same storage.
  [[nodiscard]] shared_bytes slice(std::size_t offset, std::size_t length) const noexcept {
    shared_bytes out;
    out.owner_ = owner_;
    out.view_ = view_.subspan(offset, length);
    return out;
  }

 private:
  std::shared_ptr<const void> owner_;  ///< a byte_vector or a byte array
  byte_view view_;
};

}  // namespace kb
