// kb::net::secret: a password or key passphrase held in memory with no printing path
// (no stream or fmt operator) and wiped with OPENSSL_cleanse when destroyed (reliability §3.3).
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace kb::net {

/// Owns secret text. Copyable (each copy is wiped on destruction); never formatted or logged.
class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}
  secret(const secret& other) : value_(other.value_) {}
  secret(secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
  secret& operator=(const secret& other) {
    if (this != &other) {
      wipe();
      value_ = other.value_;
    }
    return *this;
  }
  secret& operator=(secret&& other) noexcept {
    if (this != &other) {
      wipe();
      value_ = std::move(other.value_);
      other.wipe();
    }
    return *this;
  }
  ~secret() { wipe(); }

  /// The secret text; the caller must not copy it into messages or logs.
  [[nodiscard]] std::string_view reveal() const noexcept { return value_; }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

 private:
  void wipe() noexcept;
  std::string value_;
};

/// Wipes a buffer in a way the optimiser cannot remove (OPENSSL_cleanse).
void secure_wipe(void* data, std::size_t size) noexcept;

}  // namespace kb::net
