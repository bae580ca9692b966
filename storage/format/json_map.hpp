// Boost.JSON value_from/value_to for the project's own documents: a struct described with
// BOOST_DESCRIBE_STRUCT maps member for member onto an object; a malformed document fails with
// its name, the field's path and what is wrong ("checkpoint.json: field 'gaps[1].last_offset' is
// not an integer"). Unknown fields are ignored; integers are range-checked, never wrapped.
#pragma once

#include <cstddef>
#include <exception>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <boost/mp11/algorithm.hpp>
#include <fmt/format.h>

#include "base/error.hpp"

namespace kb::json_map {

namespace json = boost::json;

/// Raised inside a conversion and turned into errc::corrupt by `convert`; the path grows as the
/// exception leaves nested members and elements.
class bad_field : public std::exception {
 public:
  explicit bad_field(std::string problem) : problem_(std::move(problem)) {}
  /// `outer` is a member name, or an element step such as "[3]".
  void nest(std::string outer) { outward_.push_back(std::move(outer)); }
  [[nodiscard]] std::string path() const;
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }
  /// "{doc}: field '{path}' {problem}".
  [[nodiscard]] std::string message(std::string_view doc) const;
  [[nodiscard]] const char* what() const noexcept override { return problem_.c_str(); }

 private:
  std::string problem_;
  std::vector<std::string> outward_;  // innermost step first
};

/// Throws bad_field for `field` of the object being read (validation after the types are right).
[[noreturn]] void reject(std::string field, std::string problem);

/// Members that a document may omit, read as the struct's default: named by an ADL-found
/// constexpr `json_optional(const T*)` returning a range of names. Members named by `json_omit_default`
/// are optional too, and written only when they differ from the default. Without either hook
/// every member is required and always written.
template <class T>
constexpr bool is_omitted_when_default(std::string_view member) {
  if constexpr (requires(const T* p) { json_omit_default(p); }) {
    for (std::string_view name : json_omit_default(static_cast<const T*>(nullptr)))
      if (name == member) return true;
  }
  return false;
}

template <class T>
constexpr bool is_optional_member(std::string_view member) {
  if constexpr (requires(const T* p) { json_optional(p); }) {
    for (std::string_view name : json_optional(static_cast<const T*>(nullptr)))
      if (name == member) return true;
  }
  return is_omitted_when_default<T>(member);
}

namespace detail {
template <class T>
struct is_vector : std::false_type {};
template <class E, class A>
struct is_vector<std::vector<E, A>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class E, class C, class A>
struct is_string_map<std::map<std::string, E, C, A>> : std::true_type {};
}  // namespace detail

template <class T>
concept described = boost::describe::has_describe_members<T>::value;

/// One value of type T: leaves here (strict: no numbers as strings, no doubles as integers),
/// containers element by element so that errors name the index or key, anything else through
/// json::value_to (a described struct, or a type with its own tag_invoke).
template <class T>
T read(const json::value& v) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_bool()) throw bad_field("is not true/false");
    return v.get_bool();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_int64() && !v.is_uint64()) throw bad_field("is not an integer");
    boost::system::error_code ec;
    const T n = v.to_number<T>(ec);
    if (ec)
      throw bad_field(fmt::format("is out of range: {} is not in {}..{}", json::serialize(v),
                                  std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
    return n;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) throw bad_field("is not a string");
    return std::string(v.get_string());
  } else if constexpr (detail::is_vector<T>::value) {
    if (!v.is_array()) throw bad_field("is not an array");
    T out;
    out.reserve(v.get_array().size());
    for (const auto& e : v.get_array()) {
      try {
        out.push_back(read<typename T::value_type>(e));
      } catch (bad_field& b) {
        b.nest(fmt::format("[{}]", out.size()));
        throw;
      }
    }
    return out;
  } else if constexpr (detail::is_string_map<T>::value) {
    if (!v.is_object()) throw bad_field("is not an object");
    T out;
    for (const auto& kv : v.get_object()) {
      try {
        out.emplace(std::string(kv.key()), read<typename T::mapped_type>(kv.value()));
      } catch (bad_field& b) {
        b.nest(fmt::format("[\"{}\"]", std::string_view(kv.key())));
        throw;
      }
    }
    return out;
  } else {
    return json::value_to<T>(v);
  }
}

/// The members of one object, for hand-written conversions.
class object_reader {
 public:
  explicit object_reader(const json::value& v);
  template <class T>
  void required(std::string_view key, T& out) const {
    const auto* v = o_->if_contains(key);
    if (v == nullptr) reject(std::string(key), "is missing");
    out = member<T>(key, *v);
  }
  /// Leaves `out` as it is when the key is absent; says whether it was there.
  template <class T>
  bool optional(std::string_view key, T& out) const {
    const auto* v = o_->if_contains(key);
    if (v == nullptr) return false;
    out = member<T>(key, *v);
    return true;
  }
  [[nodiscard]] bool contains(std::string_view key) const { return o_->contains(key); }

 private:
  template <class T>
  static T member(std::string_view key, const json::value& v) {
    try {
      return read<T>(v);
    } catch (bad_field& b) {
      b.nest(std::string(key));
      throw;
    }
  }
  const json::object* o_;
};

/// Every described member in declaration order; optional ones may be absent.
template <described T>
T tag_invoke(json::value_to_tag<T> /*tag*/, const json::value& v) {
  const object_reader r(v);
  T out{};
  using members = boost::describe::describe_members<T, boost::describe::mod_public>;
  boost::mp11::mp_for_each<members>([&](auto d) {
    if (is_optional_member<T>(d.name))
      r.optional(d.name, out.*d.pointer);
    else
      r.required(d.name, out.*d.pointer);
  });
  return out;
}

/// Every described member in declaration order; json_omit_default ones only when not at their default.
template <described T>
void tag_invoke(json::value_from_tag /*tag*/, json::value& v, const T& t) {
  auto& o = v.emplace_object();
  [[maybe_unused]] static const T defaults{};
  using members = boost::describe::describe_members<T, boost::describe::mod_public>;
  boost::mp11::mp_for_each<members>([&](auto d) {
    if constexpr (is_omitted_when_default<T>(decltype(d)::name)) {
      if (t.*d.pointer == defaults.*d.pointer) return;
    }
    o[d.name] = json::value_from(t.*d.pointer, o.storage());
  });
}

/// Parses `text` as one JSON object: errc::corrupt "{doc} is not valid JSON (…)" / "… not a JSON object".
[[nodiscard]] kb::result<json::value> parse_object(std::string_view text, std::string_view doc);

/// read<T> with its exceptions turned into errc::corrupt naming `doc` and the field; then
/// `check(const T&)`, which may reject() what the types cannot say (an empty name, a bad range).
template <class T, class Check>
kb::result<T> convert(const json::value& v, std::string_view doc, Check&& check) {
  try {
    T out = read<T>(v);
    std::forward<Check>(check)(std::as_const(out));
    return out;
  } catch (const bad_field& b) {
    return fail(errc::corrupt, b.message(doc));
  } catch (const boost::system::system_error& e) {
    return fail(errc::corrupt, fmt::format("{}: {}", doc, e.what()));
  }
}

template <class T>
kb::result<T> convert(const json::value& v, std::string_view doc) {
  return convert<T>(v, doc, [](const T& /*unchecked*/) {});
}

/// parse_object, then convert.
template <class T, class Check>
kb::result<T> read_document(std::string_view text, std::string_view doc, Check&& check) {
  auto v = parse_object(text, doc);
  if (!v) return fail(std::move(v.error()));
  return convert<T>(*v, doc, std::forward<Check>(check));
}

template <class T>
kb::result<T> read_document(std::string_view text, std::string_view doc) {
  return read_document<T>(text, doc, [](const T& /*unchecked*/) {});
}

}  // namespace kb::json_map
