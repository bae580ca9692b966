#include "net/secret.hpp"

#include <openssl/crypto.h>

namespace kb::net {

void secure_wipe(void* data, std::size_t size) noexcept {
  if (data != nullptr && size > 0) OPENSSL_cleanse(data, size);
}

void secret::wipe() noexcept {
  // Wipe the whole capacity: short strings live in the object, long ones on the heap.
  if (value_.capacity() > 0) secure_wipe(value_.data(), value_.capacity());
  value_.clear();
}

}  // namespace kb::net
