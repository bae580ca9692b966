// Test stores that forward every call to another store; tests override the calls they watch or stall.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/object_store.hpp"

namespace kb::storage::testing {

/// Forwards the store's calls to `inner`. Commit groups, groups_commits() and cleanup_stale()
/// keep object_store's defaults on purpose: the default group calls this store's own put, so an
/// override here sees every object (forwarding the inner store's group would bypass it).
class forwarding_store : public object_store {
 public:
  explicit forwarding_store(object_store& inner) : inner_(inner) {}

  result<void> put(std::string_view k, byte_view d) override { return inner_.put(k, d); }
  result<void> put(std::string_view k, byte_pieces p) override { return inner_.put(k, p); }
  result<void> put_if_absent(std::string_view k, byte_view d) override { return inner_.put_if_absent(k, d); }
  result<byte_vector> get(std::string_view k) override { return inner_.get(k); }
  result<byte_vector> get_range(std::string_view k, std::uint64_t offset, std::uint64_t length) override {
    return inner_.get_range(k, offset, length);
  }
  result<object_meta> head(std::string_view k) override { return inner_.head(k); }
  result<std::vector<std::string>> list_prefixes(std::string_view p) override { return inner_.list_prefixes(p); }
  result<void> remove(std::string_view k) override { return inner_.remove(k); }
  result<std::unique_ptr<object_writer>> open_writer(std::string_view k) override { return inner_.open_writer(k); }
  [[nodiscard]] std::string describe() const override { return inner_.describe(); }

 protected:
  result<std::vector<object_info>> do_list(std::string_view p, const list_options& o) override {
    return inner_.list(p, o);
  }
  [[nodiscard]] object_store& inner() const noexcept { return inner_; }

 private:
  object_store& inner_;
};

/// Counts the whole-object reads and the listings that reach the store.
class counting_store final : public forwarding_store {
 public:
  using forwarding_store::forwarding_store;
  int gets = 0;
  int lists = 0;
  result<byte_vector> get(std::string_view k) override {
    ++gets;
    return forwarding_store::get(k);
  }

 protected:
  result<std::vector<object_info>> do_list(std::string_view p, const list_options& o) override {
    ++lists;
    return forwarding_store::do_list(p, o);
  }
};

}  // namespace kb::storage::testing
