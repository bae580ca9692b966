// Internal to protocol/: one field list per message drives both directions. A message's
// `serde(io, msg, version)` template is instantiated with `encoder` (msg is const) and with
// `decoder`, so encode and decode cannot drift apart. Not part of the public API.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "protocol/api.hpp"
#include "protocol/wire.hpp"

namespace kb::protocol::detail {

class encoder {
 public:
  encoder(writer& w, bool flexible) noexcept : w_(w), flexible_(flexible) {}

  void operator()(const std::int8_t& x) { w_.write_int8(x); }
  void operator()(const bool& x) { w_.write_bool(x); }
  void operator()(const std::int16_t& x) { w_.write_int16(x); }
  void operator()(const std::int32_t& x) { w_.write_int32(x); }
  void operator()(const std::int64_t& x) { w_.write_int64(x); }
  void operator()(const double& x) { w_.write_float64(x); }
  void operator()(const uuid& x) { w_.write_uuid(x); }
  void operator()(const std::string& s) {
    if (flexible_) {
      w_.write_compact_string(s);
    } else {
      w_.write_string(s);
    }
  }
  void operator()(const std::optional<std::string>& s) {
    if (flexible_) {
      w_.write_compact_nullable_string(s);
    } else {
      w_.write_nullable_string(s);
    }
  }
  void operator()(const byte_vector& b) {
    if (flexible_) {
      w_.write_compact_bytes(b);
    } else {
      w_.write_bytes(b);
    }
  }
  void operator()(const std::optional<byte_view>& b) {
    if (flexible_) {
      w_.write_compact_nullable_bytes(b);
    } else {
      w_.write_nullable_bytes(b);
    }
  }
  void operator()(const std::optional<shared_bytes>& b) {
    std::optional<byte_view> view;
    if (b) view = b->view();
    (*this)(view);
  }

  template <class T, class F>
  void array(const std::vector<T>& v, F&& fn) {
    w_.write_array_length(v.size(), flexible_);
    for (const T& e : v) fn(e);
  }
  template <class T>
  void array(const std::vector<T>& v) {
    array(v, [this](const T& e) { (*this)(e); });
  }
  template <class T, class F>
  void nullable_array(const std::optional<std::vector<T>>& v, F&& fn) {
    if (!v) {
      w_.write_null_array(flexible_);
      return;
    }
    array(*v, fn);
  }
  template <class T>
  void nullable_array(const std::optional<std::vector<T>>& v) {
    nullable_array(v, [this](const T& e) { (*this)(e); });
  }

  /// An empty tagged-field section (flexible versions only).
  void no_tags() {
    if (flexible_) w_.write_empty_tagged_fields();
  }
  /// A tagged-field section: `fn(tag)` calls `tag(n, field[, fn(sub, value)])` for each known
  /// field in ascending tag order. Optional fields are written when set, vectors when
  /// non-empty (the schema defaults).
  template <class F>
  void tags(F&& fn) {
    if (!flexible_) return;
    counter count;
    fn(count);
    w_.write_uvarint(count.n);
    tag_writer out{w_};
    fn(out);
  }

 private:
  struct counter {
    std::uint32_t n = 0;
    template <class T, class... G>
    void operator()(std::uint32_t, const std::optional<T>& f, G&&...) {
      if (f) ++n;
    }
    template <class T, class G>
    void operator()(std::uint32_t, const std::vector<T>& f, G&&) {
      if (!f.empty()) ++n;
    }
  };
  struct tag_writer {
    writer& w;
    template <class T>
    void operator()(std::uint32_t tag, const std::optional<T>& f) {
      if (!f) return;
      writer tmp;
      encoder sub(tmp, true);
      sub(*f);
      w.write_tagged_field(tag, tmp.view());
    }
    template <class T, class G>
    void operator()(std::uint32_t tag, const std::optional<T>& f, G&& g) {
      if (!f) return;
      writer tmp;
      encoder sub(tmp, true);
      g(sub, *f);
      w.write_tagged_field(tag, tmp.view());
    }
    template <class T, class G>
    void operator()(std::uint32_t tag, const std::vector<T>& f, G&& g) {
      if (f.empty()) return;
      writer tmp;
      encoder sub(tmp, true);
      sub.array(f, [&](const T& e) { g(sub, e); });
      w.write_tagged_field(tag, tmp.view());
    }
  };

  writer& w_;
  bool flexible_;
};

class decoder {
 public:
  decoder(reader& r, bool flexible) noexcept : r_(r), flexible_(flexible) {}

  void operator()(std::int8_t& x) { x = r_.read_int8(); }
  void operator()(bool& x) { x = r_.read_bool(); }
  void operator()(std::int16_t& x) { x = r_.read_int16(); }
  void operator()(std::int32_t& x) { x = r_.read_int32(); }
  void operator()(std::int64_t& x) { x = r_.read_int64(); }
  void operator()(double& x) { x = r_.read_float64(); }
  void operator()(uuid& x) { x = r_.read_uuid(); }
  void operator()(std::string& s) { s = flexible_ ? r_.read_compact_string() : r_.read_string(); }
  void operator()(std::optional<std::string>& s) {
    s = flexible_ ? r_.read_compact_nullable_string() : r_.read_nullable_string();
  }
  void operator()(byte_vector& b) {
    const shared_bytes raw = flexible_ ? r_.read_compact_bytes() : r_.read_bytes();
    b.assign(raw.view().begin(), raw.view().end());
  }
  /// Points into the reader's buffer: valid while the caller keeps that buffer alive.
  void operator()(std::optional<byte_view>& b) {
    std::optional<shared_bytes> raw;
    (*this)(raw);
    if (raw) {
      b = raw->view();
    } else {
      b.reset();
    }
  }
  void operator()(std::optional<shared_bytes>& b) {
    b = flexible_ ? r_.read_compact_nullable_bytes() : r_.read_nullable_bytes();
  }

  template <class T, class F>
  void array(std::vector<T>& v, F&& fn) {
    const std::int32_t n = r_.read_array_length(flexible_);
    v.clear();
    if (!r_.ok()) return;
    if (n < 0) {
      r_.fail(wire_errc::malformed);  // null where the schema does not allow it
      return;
    }
    fill(v, n, fn);
  }
  template <class T>
  void array(std::vector<T>& v) {
    array(v, [this](T& e) { (*this)(e); });
  }
  template <class T, class F>
  void nullable_array(std::optional<std::vector<T>>& v, F&& fn) {
    const std::int32_t n = r_.read_array_length(flexible_);
    if (!r_.ok()) return;
    if (n < 0) {
      v.reset();
      return;
    }
    fill(v.emplace(), n, fn);
  }
  template <class T>
  void nullable_array(std::optional<std::vector<T>>& v) {
    nullable_array(v, [this](T& e) { (*this)(e); });
  }

  void no_tags() {
    if (flexible_) r_.skip_tagged_fields();
  }
  template <class F>
  void tags(F&& fn) {
    if (!flexible_) return;
    r_.read_tagged_fields([&](std::uint32_t tag, reader& sub) {
      tag_reader in{tag, sub};
      fn(in);
    });
  }

 private:
  struct tag_reader {
    std::uint32_t tag;
    reader& sub;
    template <class T>
    void operator()(std::uint32_t n, std::optional<T>& f) {
      if (n != tag) return;
      decoder d(sub, true);
      d(emplace_value(f));
    }
    template <class T, class G>
    void operator()(std::uint32_t n, std::optional<T>& f, G&& g) {
      if (n != tag) return;
      decoder d(sub, true);
      g(d, emplace_value(f));
    }
    template <class T, class G>
    void operator()(std::uint32_t n, std::vector<T>& f, G&& g) {
      if (n != tag) return;
      decoder d(sub, true);
      d.array(f, [&](T& e) { g(d, e); });
    }
  };

  // optional::emplace() is constrained on is_constructible_v<T>; clang 14 caches that trait as
  // false for a nested struct with default member initializers when the enclosing class names
  // std::optional<T> before it is complete. Move-constructing from T{} sidesteps the cached trait.
  template <class T>
  static T& emplace_value(std::optional<T>& f) {
    return f.emplace(T{});
  }

  // Grows the vector as elements actually decode, so a forged count costs no more memory
  // than the bytes that back it.
  template <class T, class F>
  void fill(std::vector<T>& v, std::int32_t n, F& fn) {
    v.reserve(std::min<std::size_t>(static_cast<std::size_t>(n), 256));
    for (std::int32_t i = 0; i < n; ++i) {
      fn(v.emplace_back());
      if (!r_.ok()) return;
    }
  }

  reader& r_;
  bool flexible_;
};

/// Rejects versions outside our table before any byte is read or written.
inline result<void> check_version(api_key key, std::int16_t version, std::string_view what) {
  const api_support* s = find_support(key);
  if (s == nullptr || version < s->min_version || version > s->max_version)
    return fail(errc::unsupported,
                fmt::format("{} version {} is outside the versions this client speaks", what,
                            version));
  return {};
}

}  // namespace kb::protocol::detail

/// Defines `T::encode` and `T::decode` from a `SERDE(io, msg, version)` template visible at
/// the point of use. `WHAT` names the message in errors ("FetchResponse").
#define KB_PROTOCOL_CODEC(T, SERDE, WHAT)                                                 \
  void T::encode(::kb::protocol::writer& w, std::int16_t version) const {                 \
    ::kb::protocol::detail::encoder io(w, ::kb::protocol::is_flexible(T::key, version));  \
    SERDE(io, *this, version);                                                            \
  }                                                                                       \
  ::kb::result<T> T::decode(::kb::protocol::reader& r, std::int16_t version) {            \
    if (auto ok = ::kb::protocol::detail::check_version(T::key, version, WHAT); !ok)      \
      return ::kb::fail(std::move(ok.error()));                                           \
    T msg;                                                                                \
    ::kb::protocol::detail::decoder io(r, ::kb::protocol::is_flexible(T::key, version));  \
    SERDE(io, msg, version);                                                              \
    if (!r.ok()) return ::kb::fail(r.to_error(WHAT));                                     \
    return msg;                                                                           \
  }
