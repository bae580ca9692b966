#include "cli/config.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <regex>
#include <set>
#include <sstream>
#include <utility>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/config_file.hpp"
#include "pipeline/backup/fetch_budget.hpp"
#include "protocol/topic_name.hpp"

namespace kb::cli {
namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// Small text helpers.

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string child_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

std::string_view last_segment(std::string_view path) {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

template <class T>
bool parse_integer(std::string_view text, T& out) {
  if (text.empty()) return false;
  if (text.front() == '+') text.remove_prefix(1);
  const auto* first = text.data();
  const auto* last = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(first, last, out);
  return ec == std::errc() && ptr == last;
}

// ---------------------------------------------------------------------------------------------
// Enumerations: one table each, used for parsing, messages and printing.

template <class E>
struct enum_entry {
  std::string_view name;
  E value;
};

constexpr std::array<enum_entry<run_mode>, 2> k_modes{{
    {"backup", run_mode::backup}, {"restore", run_mode::restore}}};
constexpr std::array<enum_entry<security_protocol>, 4> k_protocols{{
    {"PLAINTEXT", security_protocol::plaintext},
    {"SSL", security_protocol::ssl},
    {"SASL_PLAINTEXT", security_protocol::sasl_plaintext},
    {"SASL_SSL", security_protocol::sasl_ssl}}};
constexpr std::array<enum_entry<sasl_mechanism>, 4> k_mechanisms{{
    {"PLAIN", sasl_mechanism::plain},
    {"SCRAM-SHA-256", sasl_mechanism::scram_sha_256},
    {"SCRAM-SHA-512", sasl_mechanism::scram_sha_512},
    {"GSSAPI", sasl_mechanism::gssapi}}};
constexpr std::array<enum_entry<storage_backend>, 4> k_backends{{
    {"filesystem", storage_backend::filesystem},
    {"s3", storage_backend::s3},
    {"azure", storage_backend::azure},
    {"gcs", storage_backend::gcs}}};
constexpr std::array<enum_entry<server_side_encryption>, 3> k_sse{{
    {"none", server_side_encryption::none},
    {"AES256", server_side_encryption::aes256},
    {"aws:kms", server_side_encryption::aws_kms}}};
constexpr std::array<enum_entry<upload_checksum>, 2> k_upload_checksums{{
    {"crc32c", upload_checksum::crc32c},
    {"sha256", upload_checksum::sha256}}};
constexpr std::array<enum_entry<compression_codec>, 3> k_codecs{{
    {"zstd", compression_codec::zstd},
    {"lz4", compression_codec::lz4},
    {"none", compression_codec::none}}};
constexpr std::array<enum_entry<start_offset_policy>, 2> k_start_offsets{{
    {"earliest", start_offset_policy::earliest},
    {"latest", start_offset_policy::latest}}};
constexpr std::array<enum_entry<repartition_strategy>, 2> k_strategies{{
    {"murmur2", repartition_strategy::murmur2},
    {"automatic", repartition_strategy::automatic}}};
constexpr std::array<enum_entry<kb::log::level>, 4> k_log_levels{{
    {"error", kb::log::level::error},
    {"warn", kb::log::level::warn},
    {"info", kb::log::level::info},
    {"debug", kb::log::level::debug}}};
constexpr std::array<enum_entry<kb::log::format>, 2> k_log_formats{{
    {"text", kb::log::format::text}, {"json", kb::log::format::json}}};

template <class E, std::size_t N>
std::string_view name_of(const std::array<enum_entry<E>, N>& table, E value) noexcept {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

template <class E, std::size_t N>
std::string allowed_list(const std::array<enum_entry<E>, N>& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(entry.name);
  return join(names, ", ");
}

// ---------------------------------------------------------------------------------------------
// The reader: walks the YAML tree, records errors and warnings with their original location.

using handler = std::function<void(const YAML::Node& value, const std::string& path)>;

struct field {
  std::string_view name;
  handler fn;
};

class reader {
 public:
  reader(const substituted_text& text, std::string_view file) : text_(text), file_(file) {}

  [[nodiscard]] std::string where(const YAML::Mark& mark) const {
    if (mark.is_null() || mark.pos < 0) return std::string(file_);
    const auto pos = text_.original_position(static_cast<std::size_t>(mark.pos));
    return fmt::format("{}:{}:{}", file_, pos.line, pos.column);
  }

  void error(const YAML::Mark& mark, std::string_view path, std::string_view message) {
    if (path.empty()) {
      errors_.push_back(fmt::format("{}: {}", where(mark), message));
    } else {
      errors_.push_back(fmt::format("{}: {}: {}", where(mark), path, message));
    }
  }
  void warn(const YAML::Mark& mark, std::string_view path, std::string_view message) {
    warnings_.push_back(fmt::format("{}: {}: {}", where(mark), path, message));
  }
  /// Error or warning located at a key seen earlier (or the file when it is absent).
  void error_at(std::string_view path, std::string_view message) {
    error(mark_of(path), path, message);
  }
  void warn_at(std::string_view path, std::string_view message) {
    warn(mark_of(path), path, message);
  }

  [[nodiscard]] YAML::Mark mark_of(std::string_view path) const {
    std::string p(path);
    while (true) {
      if (const auto it = marks_.find(p); it != marks_.end()) return it->second;
      const auto dot = p.rfind('.');
      if (dot == std::string::npos) return YAML::Mark::null_mark();
      p.resize(dot);
    }
  }
  [[nodiscard]] bool seen(std::string_view path) const {
    return marks_.count(std::string(path)) != 0;
  }

  /// How a value may be quoted in a message: never a secret, never text from a variable.
  [[nodiscard]] std::string describe(const YAML::Node& node, std::string_view path) const {
    if (is_secret_key(last_segment(path))) return "(value hidden: secret)";
    if (!node.IsScalar()) {
      return node.IsSequence() ? "a list" : node.IsMap() ? "a mapping" : "an empty value";
    }
    const auto mark = node.Mark();
    if (mark.pos >= 0) {
      const auto begin = static_cast<std::size_t>(mark.pos);
      const auto end = begin + std::max<std::size_t>(1, node.Scalar().size());
      if (const auto* span = text_.span_overlapping(begin, end)) {
        return fmt::format("the value of ${{{}}}", span->variable);
      }
    }
    std::string value = node.Scalar();
    if (value.size() > 80) value = value.substr(0, 77) + "...";
    return fmt::format("'{}'", value);
  }

  /// Visits a mapping: unknown keys are errors with a suggestion, duplicates are errors.
  void read_map(const YAML::Node& node, const std::string& path, const std::vector<field>& fields) {
    if (!node || node.IsNull()) return;
    if (!node.IsMap()) {
      error(node.Mark(), path, fmt::format("must be a mapping of keys, not {}", describe(node, path)));
      return;
    }
    std::set<std::string> keys_seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        error(key.Mark(), path, "keys must be plain names");
        continue;
      }
      const std::string name = key.Scalar();
      const std::string key_path = child_path(path, name);
      if (!keys_seen.insert(name).second) {
        error(key.Mark(), key_path, "duplicate key (the later value would silently win)");
        continue;
      }
      const auto it = std::find_if(fields.begin(), fields.end(),
                                   [&](const field& f) { return f.name == name; });
      if (it == fields.end()) {
        unknown_key(key, key_path, name, fields);
        continue;
      }
      marks_[key_path] = key.Mark();
      it->fn(entry.second, key_path);
    }
  }

  // Scalars. Each returns std::nullopt (after recording an error) on a bad value, and also
  // for an explicit null (`key:` with nothing), which keeps the default.
  std::optional<std::string> string(const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) return std::nullopt;
    if (!node.IsScalar()) {
      error(node.Mark(), path, fmt::format("must be a string, not {}", describe(node, path)));
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<bool> boolean(const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) return std::nullopt;
    if (node.IsScalar()) {
      const std::string v = lower(node.Scalar());
      if (v == "true" || v == "yes" || v == "on") return true;
      if (v == "false" || v == "no" || v == "off") return false;
    }
    error(node.Mark(), path, fmt::format("must be true or false, not {}", describe(node, path)));
    return std::nullopt;
  }

  template <class T>
  std::optional<T> integer(const YAML::Node& node, const std::string& path, T min, T max) {
    if (node.IsNull()) return std::nullopt;
    T value{};
    if (!node.IsScalar() || !parse_integer(node.Scalar(), value)) {
      if (node.IsScalar() && looks_like_integer(node.Scalar())) {
        error(node.Mark(), path, fmt::format("must be between {} and {}, not {}", min, max,
                                             describe(node, path)));
      } else {
        error(node.Mark(), path, fmt::format("must be an integer, not {}", describe(node, path)));
      }
      return std::nullopt;
    }
    if (value < min || value > max) {
      error(node.Mark(), path,
            fmt::format("must be between {} and {}, not {}", min, max, describe(node, path)));
      return std::nullopt;
    }
    return value;
  }

  template <class E, std::size_t N>
  std::optional<E> enumeration(const YAML::Node& node, const std::string& path,
                               const std::array<enum_entry<E>, N>& table,
                               std::initializer_list<enum_entry<E>> aliases = {}) {
    const auto text = string(node, path);
    if (!text) return std::nullopt;
    const std::string v = lower(*text);
    for (const auto& entry : table) {
      if (lower(entry.name) == v) return entry.value;
    }
    for (const auto& entry : aliases) {
      if (lower(entry.name) == v) return entry.value;
    }
    error(node.Mark(), path, fmt::format("unknown value {}; allowed: {}", describe(node, path),
                                         allowed_list(table)));
    return std::nullopt;
  }

  /// A list of strings; a single string is taken as a one-element list.
  std::optional<std::vector<std::string>> string_list(const YAML::Node& node,
                                                      const std::string& path) {
    if (node.IsNull()) return std::vector<std::string>{};
    if (node.IsScalar()) return std::vector<std::string>{node.Scalar()};
    if (!node.IsSequence()) {
      error(node.Mark(), path, "must be a list of strings");
      return std::nullopt;
    }
    std::vector<std::string> out;
    std::size_t index = 0;
    for (const auto& item : node) {
      const auto item_path = fmt::format("{}[{}]", path, index++);
      if (!item.IsScalar()) {
        error(item.Mark(), item_path, fmt::format("must be a string, not {}", describe(item, item_path)));
        continue;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  template <class T>
  std::optional<std::vector<T>> integer_list(const YAML::Node& node, const std::string& path,
                                             T min, T max) {
    if (node.IsNull()) return std::vector<T>{};
    if (!node.IsSequence()) {
      error(node.Mark(), path, "must be a list of integers");
      return std::nullopt;
    }
    std::vector<T> out;
    std::size_t index = 0;
    for (const auto& item : node) {
      if (auto v = integer<T>(item, fmt::format("{}[{}]", path, index++), min, max)) out.push_back(*v);
    }
    return out;
  }

  /// Iterates a mapping whose keys are data (topic names, partitions), not schema.
  void each_entry(const YAML::Node& node, const std::string& path,
                  const std::function<void(const YAML::Node& key, const YAML::Node& value,
                                           const std::string& entry_path)>& fn) {
    if (!node || node.IsNull()) return;
    if (!node.IsMap()) {
      error(node.Mark(), path, fmt::format("must be a mapping, not {}", describe(node, path)));
      return;
    }
    std::set<std::string> keys_seen;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        error(entry.first.Mark(), path, "keys must be scalars");
        continue;
      }
      const std::string entry_path = child_path(path, entry.first.Scalar());
      if (!keys_seen.insert(entry.first.Scalar()).second) {
        error(entry.first.Mark(), entry_path, "duplicate key");
        continue;
      }
      fn(entry.first, entry.second, entry_path);
    }
  }

  void note_mark(const std::string& path, const YAML::Mark& mark) { marks_[path] = mark; }

  [[nodiscard]] std::vector<std::string>& errors() noexcept { return errors_; }
  [[nodiscard]] std::vector<std::string>& warnings() noexcept { return warnings_; }
  [[nodiscard]] const substituted_text& text() const noexcept { return text_; }

 private:
  static bool looks_like_integer(std::string_view s) {
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  void unknown_key(const YAML::Node& key, const std::string& key_path, const std::string& name,
                   const std::vector<field>& fields) {
    std::string_view best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const auto& f : fields) {
      const auto d = edit_distance(lower(name), f.name);
      if (d < best_distance) {
        best_distance = d;
        best = f.name;
      }
    }
    const std::size_t threshold = std::max<std::size_t>(2, name.size() / 3);
    if (!best.empty() && best_distance <= threshold) {
      error(key.Mark(), "", fmt::format("unknown key '{}'; did you mean '{}'?", key_path, best));
    } else {
      std::vector<std::string> names;
      for (const auto& f : fields) names.emplace_back(f.name);
      error(key.Mark(), "", fmt::format("unknown key '{}'; valid keys here: {}", key_path,
                                        join(names, ", ")));
    }
  }

  const substituted_text& text_;
  std::string_view file_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
  std::map<std::string, YAML::Mark> marks_;
};

// ---------------------------------------------------------------------------------------------
// Field tables. `set(x)` builds a handler that assigns a parsed value when there is one.

template <class T>
void assign(T& target, std::optional<T> value) {
  if (value) target = std::move(*value);
}
template <class T>
void assign(std::optional<T>& target, std::optional<T> value) {
  if (value) target = std::move(*value);
}

bool valid_port(std::string_view text) {
  std::uint32_t port = 0;
  return parse_integer(text, port) && port >= 1 && port <= 65535;
}

/// `host:port` or `[v6]:port`.
bool valid_host_port(std::string_view server) {
  if (server.empty()) return false;
  if (server.front() == '[') {
    const auto close = server.find(']');
    return close != std::string_view::npos && close > 1 && close + 1 < server.size() &&
           server[close + 1] == ':' && valid_port(server.substr(close + 2));
  }
  const auto colon = server.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const auto host = server.substr(0, colon);
  if (host.find(':') != std::string_view::npos) return false;  // bare IPv6 needs brackets
  if (host.find_first_of(" /\t") != std::string_view::npos) return false;
  return valid_port(server.substr(colon + 1));
}

std::vector<std::string> split_servers(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::size_t start = 0;
    while (start <= item.size()) {
      auto comma = item.find(',', start);
      if (comma == std::string::npos) comma = item.size();
      std::string part = item.substr(start, comma - start);
      const auto b = part.find_first_not_of(" \t");
      const auto e = part.find_last_not_of(" \t");
      part = b == std::string::npos ? std::string() : part.substr(b, e - b + 1);
      if (!part.empty() || item.empty()) out.push_back(part);
      start = comma + 1;
    }
  }
  return out;
}

void read_topics(reader& r, const YAML::Node& node, const std::string& path, topic_selection& t) {
  auto patterns = [&](const YAML::Node& v, const std::string& p, std::vector<std::string>& out) {
    auto list = r.string_list(v, p);
    if (!list) return;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& pattern = (*list)[i];
      const auto item_path = fmt::format("{}[{}]", p, i);
      if (pattern.empty() || pattern == "~") {
        r.error(v.IsSequence() ? v[i].Mark() : v.Mark(), item_path, "empty topic pattern");
        continue;
      }
      if (pattern.front() == '~') {
        try {
          std::regex compiled(pattern.substr(1), std::regex::ECMAScript);
          (void)compiled;
        } catch (const std::regex_error& e) {
          r.error(v.IsSequence() ? v[i].Mark() : v.Mark(), item_path,
                  fmt::format("invalid regular expression after '~': {}", e.what()));
          continue;
        }
      }
      out.push_back(pattern);
    }
  };
  r.read_map(node, path, {
      {"include", [&](const YAML::Node& v, const std::string& p) { patterns(v, p, t.include); }},
      {"exclude", [&](const YAML::Node& v, const std::string& p) { patterns(v, p, t.exclude); }},
  });
}

void read_security(reader& r, const YAML::Node& node, const std::string& path, security_config& s) {
  auto str = [&](std::optional<std::string>& target) {
    return [&r, &target](const YAML::Node& v, const std::string& p) { assign(target, r.string(v, p)); };
  };
  auto secret = [&](secret_value& target) {
    return [&r, &target](const YAML::Node& v, const std::string& p) {
      if (auto text = r.string(v, p)) target = secret_value(std::move(*text));
    };
  };
  r.read_map(node, path, {
      {"security_protocol", [&](const YAML::Node& v, const std::string& p) {
         assign(s.protocol, r.enumeration(v, p, k_protocols));
       }},
      {"sasl_mechanism", [&](const YAML::Node& v, const std::string& p) {
         assign(s.mechanism, r.enumeration(v, p, k_mechanisms,
                                           {{"SCRAM-SHA256", sasl_mechanism::scram_sha_256},
                                            {"SCRAM-SHA512", sasl_mechanism::scram_sha_512}}));
       }},
      {"sasl_username", [&](const YAML::Node& v, const std::string& p) {
         assign(s.sasl_username, r.string(v, p));
       }},
      {"sasl_password", secret(s.sasl_password)},
      {"ssl_ca_location", str(s.ssl_ca_location)},
      {"ssl_certificate_location", str(s.ssl_certificate_location)},
      {"ssl_key_location", str(s.ssl_key_location)},
      {"ssl_key_password", secret(s.ssl_key_password)},
      {"ssl_endpoint_identification", [&](const YAML::Node& v, const std::string& p) {
         assign(s.ssl_endpoint_identification, r.boolean(v, p));
       }},
      {"sasl_kerberos_service_name", [&](const YAML::Node& v, const std::string& p) {
         assign(s.sasl_kerberos_service_name, r.string(v, p));
       }},
      {"sasl_keytab_path", str(s.sasl_keytab_path)},
      {"sasl_krb5_config_path", str(s.sasl_krb5_config_path)},
  });
}

void read_connection(reader& r, const YAML::Node& node, const std::string& path,
                     connection_config& c) {
  r.read_map(node, path, {
      {"tcp_keepalive", [&](const YAML::Node& v, const std::string& p) { assign(c.tcp_keepalive, r.boolean(v, p)); }},
      {"keepalive_time_secs", [&](const YAML::Node& v, const std::string& p) {
         assign(c.keepalive_time_secs, r.integer<std::uint32_t>(v, p, 1, 86400));
       }},
      {"keepalive_interval_secs", [&](const YAML::Node& v, const std::string& p) {
         assign(c.keepalive_interval_secs, r.integer<std::uint32_t>(v, p, 1, 86400));
       }},
      {"tcp_nodelay", [&](const YAML::Node& v, const std::string& p) { assign(c.tcp_nodelay, r.boolean(v, p)); }},
      {"connections_per_broker", [&](const YAML::Node& v, const std::string& p) {
         assign(c.connections_per_broker, r.integer<std::uint32_t>(v, p, 1, 64));
       }},
  });
}

void read_kafka(reader& r, const YAML::Node& node, const std::string& path, kafka_config& k) {
  r.read_map(node, path, {
      {"bootstrap_servers", [&](const YAML::Node& v, const std::string& p) {
         auto list = r.string_list(v, p);
         if (!list) return;
         auto servers = split_servers(*list);
         for (std::size_t i = 0; i < servers.size(); ++i) {
           if (!valid_host_port(servers[i])) {
             const auto item = v.IsSequence() && i < v.size() ? v[i] : v;
             r.error(item.Mark(), fmt::format("{}[{}]", p, i),
                     fmt::format("{} is not host:port (port 1-65535; IPv6 as [addr]:port)",
                                 r.describe(item, p)));
           }
         }
         k.bootstrap_servers = std::move(servers);
       }},
      {"client_id", [&](const YAML::Node& v, const std::string& p) { assign(k.client_id, r.string(v, p)); }},
      {"security", [&](const YAML::Node& v, const std::string& p) { read_security(r, v, p, k.security); }},
      {"topics", [&](const YAML::Node& v, const std::string& p) { read_topics(r, v, p, k.topics); }},
      {"connection", [&](const YAML::Node& v, const std::string& p) { read_connection(r, v, p, k.connection); }},
  });
}

void read_storage(reader& r, const YAML::Node& node, const std::string& path, storage_config& s) {
  auto str = [&](std::string& target) {
    return [&r, &target](const YAML::Node& v, const std::string& p) { assign(target, r.string(v, p)); };
  };
  auto opt = [&](std::optional<std::string>& target) {
    return [&r, &target](const YAML::Node& v, const std::string& p) { assign(target, r.string(v, p)); };
  };
  auto flag = [&](bool& target) {
    return [&r, &target](const YAML::Node& v, const std::string& p) { assign(target, r.boolean(v, p)); };
  };
  auto secret = [&](secret_value& target) {
    return [&r, &target](const YAML::Node& v, const std::string& p) {
      if (auto text = r.string(v, p)) target = secret_value(std::move(*text));
    };
  };
  r.read_map(node, path, {
      {"backend", [&](const YAML::Node& v, const std::string& p) { assign(s.backend, r.enumeration(v, p, k_backends)); }},
      {"path", str(s.path)},
      {"bucket", str(s.bucket)},
      {"region", opt(s.region)},
      {"endpoint", opt(s.endpoint)},
      {"path_style", flag(s.path_style)},
      {"allow_http", flag(s.allow_http)},
      {"prefix", [&](const YAML::Node& v, const std::string& p) {
         if (auto text = r.string(v, p)) s.prefix = normalize_prefix(*text);
       }},
      {"access_key", secret(s.access_key)},
      {"access_key_id", secret(s.access_key)},
      {"secret_key", secret(s.secret_key)},
      {"secret_access_key", secret(s.secret_key)},
      {"session_token", secret(s.session_token)},
      {"credentials", str(s.credentials)},
      {"imds_endpoint", opt(s.imds_endpoint)},
      {"server_side_encryption", [&](const YAML::Node& v, const std::string& p) {
         assign(s.sse, r.enumeration(v, p, k_sse));
       }},
      {"sse_kms_key_id", opt(s.sse_kms_key_id)},
      {"upload_checksum", [&](const YAML::Node& v, const std::string& p) {
         assign(s.checksum, r.enumeration(v, p, k_upload_checksums));
       }},
      {"retry_budget_ms", [&](const YAML::Node& v, const std::string& p) {
         assign(s.retry_budget_ms, r.integer<std::uint64_t>(v, p, 0, 86'400'000));
       }},
      {"stall_timeout_ms", [&](const YAML::Node& v, const std::string& p) {
         assign(s.stall_timeout_ms, r.integer<std::uint64_t>(v, p, 1000, 3'600'000));
       }},
      {"account_name", str(s.account_name)},
      {"container_name", str(s.container_name)},
      {"account_key", secret(s.account_key)},
      {"sas_token", secret(s.sas_token)},
      {"use_workload_identity", flag(s.use_workload_identity)},
      {"client_id", opt(s.client_id)},
      {"tenant_id", opt(s.tenant_id)},
      {"client_secret", secret(s.client_secret)},
      {"service_account_path", opt(s.service_account_path)},
  });
}

void read_specific_offsets(reader& r, const YAML::Node& node, const std::string& path,
                           backup_options& b) {
  r.each_entry(node, path, [&](const YAML::Node&, const YAML::Node& partitions,
                               const std::string& topic_path) {
    const std::string topic(last_segment(topic_path));
    auto& per_partition = b.specific_offsets[topic];
    r.each_entry(partitions, topic_path, [&](const YAML::Node& key, const YAML::Node& value,
                                             const std::string& entry_path) {
      const auto partition = r.integer<std::int32_t>(key, entry_path, 0, std::numeric_limits<std::int32_t>::max());
      const auto offset = r.integer<std::int64_t>(value, entry_path, 0, std::numeric_limits<std::int64_t>::max());
      if (partition && offset) per_partition[*partition] = *offset;
    });
  });
}

void read_backup(reader& r, const YAML::Node& node, const std::string& path, backup_options& b) {
  constexpr auto u64max = std::numeric_limits<std::uint64_t>::max();
  r.read_map(node, path, {
      {"compression", [&](const YAML::Node& v, const std::string& p) { assign(b.compression, r.enumeration(v, p, k_codecs)); }},
      {"compression_level", [&](const YAML::Node& v, const std::string& p) {
         assign(b.compression_level, r.integer<int>(v, p, -1000, 1000));  // range per codec below
       }},
      {"segment_max_bytes", [&](const YAML::Node& v, const std::string& p) {
         assign(b.segment_max_bytes, r.integer<std::uint64_t>(v, p, 1, u64max));
       }},
      {"segment_max_interval_ms", [&](const YAML::Node& v, const std::string& p) {
         assign(b.segment_max_interval_ms, r.integer<std::uint64_t>(v, p, 1, u64max));
       }},
      {"segment_max_records", [&](const YAML::Node& v, const std::string& p) {
         assign(b.segment_max_records, r.integer<std::uint64_t>(v, p, 1, u64max));
       }},
      {"fetch_max_bytes", [&](const YAML::Node& v, const std::string& p) {
         assign(b.fetch_max_bytes, r.integer<std::uint32_t>(v, p, 1, 2147483647u));
       }},
      {"continuous", [&](const YAML::Node& v, const std::string& p) { assign(b.continuous, r.boolean(v, p)); }},
      {"poll_interval_ms", [&](const YAML::Node& v, const std::string& p) {
         assign(b.poll_interval_ms, r.integer<std::uint64_t>(v, p, 0, u64max));
       }},
      {"stop_at_current_offsets", [&](const YAML::Node& v, const std::string& p) {
         assign(b.stop_at_current_offsets, r.boolean(v, p));
       }},
      {"start_offset", [&](const YAML::Node& v, const std::string& p) {
         if (v.IsMap()) {
           r.read_map(v, p, {{"specific", [&](const YAML::Node& sv, const std::string& sp) {
                                 b.start_offset = start_offset_policy::specific;
                                 read_specific_offsets(r, sv, sp, b);
                               }}});
           return;
         }
         assign(b.start_offset, r.enumeration(v, p, k_start_offsets));
       }},
      {"max_concurrent_partitions", [&](const YAML::Node& v, const std::string& p) {
         assign(b.max_concurrent_partitions, r.integer<std::uint32_t>(v, p, 1, 100000));
       }},
      {"include_internal_topics", [&](const YAML::Node& v, const std::string& p) {
         assign(b.include_internal_topics, r.boolean(v, p));
       }},
      {"internal_topics", [&](const YAML::Node& v, const std::string& p) { assign(b.internal_topics, r.string_list(v, p)); }},
      {"include_offset_headers", [&](const YAML::Node& v, const std::string& p) {
         assign(b.include_offset_headers, r.boolean(v, p));
         if (b.include_offset_headers) {
           r.warn(v.Mark(), p,
                  "ignored: kafka-backup never adds headers to your records; source offsets are "
                  "kept in the segment index and consumer-group offsets are translated exactly");
         }
       }},
      {"source_cluster_id", [&](const YAML::Node& v, const std::string& p) { assign(b.source_cluster_id, r.string(v, p)); }},
      {"consumer_group_snapshot", [&](const YAML::Node& v, const std::string& p) {
         assign(b.consumer_group_snapshot, r.boolean(v, p));
       }},
      {"max_buffer_bytes", [&](const YAML::Node& v, const std::string& p) {
         assign(b.max_buffer_bytes, r.integer<std::uint64_t>(v, p, 1, u64max));
       }},
      {"checkpoint_interval_secs", [&](const YAML::Node& v, const std::string& p) {
         (void)r.integer<std::uint64_t>(v, p, 0, u64max);
         r.warn(v.Mark(), p, "has no effect: a checkpoint is written after every durable segment");
       }},
      {"sync_interval_secs", [&](const YAML::Node& v, const std::string& p) {
         (void)r.integer<std::uint64_t>(v, p, 0, u64max);
         r.warn(v.Mark(), p, "has no effect: a checkpoint is written after every durable segment");
       }},
  });
}

void read_restore(reader& r, const YAML::Node& node, const std::string& path, restore_options& o) {
  constexpr auto i32max = std::numeric_limits<std::int32_t>::max();
  constexpr auto u64max = std::numeric_limits<std::uint64_t>::max();
  auto flag = [&](bool& target) {
    return [&r, &target](const YAML::Node& v, const std::string& p) { assign(target, r.boolean(v, p)); };
  };
  auto time = [&](std::optional<std::int64_t>& target) {
    return [&r, &target](const YAML::Node& v, const std::string& p) {
      const auto text = r.string(v, p);
      if (!text) return;
      if (auto ms = parse_timestamp_ms(*text)) {
        target = *ms;
      } else {
        r.error(v.Mark(), p,
                fmt::format("{} is neither epoch milliseconds nor an RFC 3339 time "
                            "(e.g. 1736899200000 or 2025-01-15T00:00:00Z)",
                            r.describe(v, p)));
      }
    };
  };
  r.read_map(node, path, {
      {"time_window_start", time(o.time_window_start)},
      {"time_window_end", time(o.time_window_end)},
      {"source_partitions", [&](const YAML::Node& v, const std::string& p) {
         assign(o.source_partitions, r.integer_list<std::int32_t>(v, p, 0, i32max));
       }},
      {"topic_mapping", [&](const YAML::Node& v, const std::string& p) {
         r.each_entry(v, p, [&](const YAML::Node& key, const YAML::Node& value, const std::string& ep) {
           if (auto target = r.string(value, ep)) {
             if (target->empty()) {
               r.error(value.Mark(), ep, "empty target topic name");
             } else if (auto why = protocol::topic_name_problem(*target)) {
               // Caught here, not as INVALID_TOPIC_EXCEPTION from the broker halfway through a run.
               r.error(value.Mark(), ep,
                       fmt::format("'{}' is not a valid Kafka topic name: {}", target->substr(0, 260), *why));
             } else {
               o.topic_mapping[key.Scalar()] = *target;
             }
           }
         });
       }},
      {"partition_mapping", [&](const YAML::Node& v, const std::string& p) {
         r.each_entry(v, p, [&](const YAML::Node& key, const YAML::Node& value, const std::string& ep) {
           const auto from = r.integer<std::int32_t>(key, ep, 0, i32max);
           const auto to = r.integer<std::int32_t>(value, ep, 0, i32max);
           if (from && to) o.partition_mapping[*from] = *to;
         });
       }},
      {"repartitioning", [&](const YAML::Node& v, const std::string& p) {
         r.each_entry(v, p, [&](const YAML::Node& key, const YAML::Node& value, const std::string& ep) {
           repartition_rule rule;
           bool has_partitions = false;
           r.read_map(value, ep, {
               {"strategy", [&](const YAML::Node& sv, const std::string& sp) {
                  assign(rule.strategy, r.enumeration(sv, sp, k_strategies));
                }},
               {"target_partitions", [&](const YAML::Node& tv, const std::string& tp) {
                  if (auto n = r.integer<std::int32_t>(tv, tp, 1, i32max)) {
                    rule.target_partitions = *n;
                    has_partitions = true;
                  }
                }},
           });
           if (!has_partitions && !r.seen(ep + ".target_partitions")) {
             r.error(key.Mark(), ep, "target_partitions is required (a positive partition count)");
           }
           o.repartitioning[key.Scalar()] = rule;
         });
       }},
      {"create_topics", flag(o.create_topics)},
      {"default_replication_factor", [&](const YAML::Node& v, const std::string& p) {
         if (auto n = r.integer<std::int16_t>(v, p, -1, std::numeric_limits<std::int16_t>::max())) {
           if (*n == 0) {
             r.error(v.Mark(), p, "must be a positive replica count, or -1 for the broker default");
           } else if (*n > 0) {
             o.default_replication_factor = *n;
           }
         }
       }},
      {"purge_topics", flag(o.purge_topics)},
      {"consumer_groups", [&](const YAML::Node& v, const std::string& p) { assign(o.consumer_groups, r.string_list(v, p)); }},
      {"reset_consumer_offsets", flag(o.reset_consumer_offsets)},
      {"auto_consumer_groups", flag(o.auto_consumer_groups)},
      {"allow_gaps", flag(o.allow_gaps)},
      {"dry_run", flag(o.dry_run)},
      {"produce_acks", [&](const YAML::Node& v, const std::string& p) {
         if (v.IsScalar() && lower(v.Scalar()) == "all") {
           o.produce_acks = -1;
           return;
         }
         const auto acks = r.integer<std::int16_t>(v, p, -1, 1);
         if (!acks) return;
         if (*acks == 0) {
           r.error(v.Mark(), p,
                   "0 is not supported: the restore needs every produce response (base offsets) to "
                   "translate consumer-group offsets and to know nothing was lost; use -1 (all) or 1");
           return;
         }
         o.produce_acks = *acks;
       }},
      {"produce_timeout_ms", [&](const YAML::Node& v, const std::string& p) {
         assign(o.produce_timeout_ms, r.integer<std::uint32_t>(v, p, 1, 2147483647u));
       }},
      {"produce_batch_size", [&](const YAML::Node& v, const std::string& p) {
         assign(o.produce_batch_size, r.integer<std::uint32_t>(v, p, 1, 2147483647u));
       }},
      {"max_concurrent_partitions", [&](const YAML::Node& v, const std::string& p) {
         assign(o.max_concurrent_partitions, r.integer<std::uint32_t>(v, p, 1, 100000));
       }},
      {"rate_limit_records_per_sec", [&](const YAML::Node& v, const std::string& p) {
         assign(o.rate_limit_records_per_sec, r.integer<std::uint64_t>(v, p, 1, u64max));
       }},
      {"rate_limit_bytes_per_sec", [&](const YAML::Node& v, const std::string& p) {
         assign(o.rate_limit_bytes_per_sec, r.integer<std::uint64_t>(v, p, 1, u64max));
       }},
      {"checkpoint_state", [&](const YAML::Node& v, const std::string& p) { assign(o.checkpoint_state, r.string(v, p)); }},
      {"offset_report", [&](const YAML::Node& v, const std::string& p) { assign(o.offset_report, r.string(v, p)); }},
      {"state_dir", [&](const YAML::Node& v, const std::string& p) { assign(o.state_dir, r.string(v, p)); }},
      {"checkpoint_interval_secs", [&](const YAML::Node& v, const std::string& p) {
         (void)r.integer<std::uint64_t>(v, p, 0, u64max);
         r.warn(v.Mark(), p, "has no effect: restore progress is recorded after every acknowledged batch");
       }},
      {"consumer_group_strategy", [&](const YAML::Node& v, const std::string& p) {
         const auto text = r.string(v, p);
         if (!text) return;
         static const std::array<std::string_view, 5> known{"skip", "header-based", "timestamp-based",
                                                            "cluster-scan", "manual"};
         if (std::find(known.begin(), known.end(), *text) == known.end()) {
           r.error(v.Mark(), p, fmt::format("unknown value {}; allowed: skip, header-based, "
                                            "timestamp-based, cluster-scan, manual",
                                            r.describe(v, p)));
           return;
         }
         if (*text != "skip") {
           r.warn(v.Mark(), p,
                  "ignored: consumer-group offsets are translated exactly from the produce "
                  "responses (set consumer_groups and reset_consumer_offsets); no headers are added");
         }
       }},
      {"include_original_offset_header", [&](const YAML::Node& v, const std::string& p) {
         const auto on = r.boolean(v, p);
         if (on && *on) {
           r.warn(v.Mark(), p, "ignored: kafka-backup never adds headers to restored records");
         }
       }},
  });
}

void read_metrics(reader& r, const YAML::Node& node, const std::string& path, metrics_config& m) {
  r.read_map(node, path, {
      {"enabled", [&](const YAML::Node& v, const std::string& p) { assign(m.enabled, r.boolean(v, p)); }},
      {"bind_address", [&](const YAML::Node& v, const std::string& p) {
         if (auto text = r.string(v, p)) {
           if (text->empty()) {
             r.error(v.Mark(), p, "must not be empty (e.g. 127.0.0.1, or 0.0.0.0 for all interfaces)");
           } else {
             m.bind_address = *text;
           }
         }
       }},
      {"port", [&](const YAML::Node& v, const std::string& p) {
         assign(m.port, r.integer<std::uint16_t>(v, p, 1, 65535));
       }},
      {"path", [&](const YAML::Node& v, const std::string& p) {
         if (auto text = r.string(v, p)) {
           if (text->empty() || text->front() != '/') {
             r.error(v.Mark(), p, fmt::format("must start with '/', not {}", r.describe(v, p)));
           } else {
             m.path = *text;
           }
         }
       }},
      {"keep_alive_seconds", [&](const YAML::Node& v, const std::string& p) {
         assign(m.keep_alive_seconds, r.integer<std::uint32_t>(v, p, 0, 86400 * 7));
       }},
      {"max_partition_labels", [&](const YAML::Node& v, const std::string& p) {
         assign(m.max_partition_labels, r.integer<std::uint32_t>(v, p, 0, 10000000));
       }},
      {"update_interval_ms", [&](const YAML::Node& v, const std::string& p) {
         (void)r.integer<std::uint32_t>(v, p, 0, 2147483647u);
         r.warn(v.Mark(), p, "has no effect: metrics are computed when scraped");
       }},
  });
}

void read_logging(reader& r, const YAML::Node& node, const std::string& path, logging_config& l) {
  r.read_map(node, path, {
      {"level", [&](const YAML::Node& v, const std::string& p) {
         if (auto lvl = r.enumeration(v, p, k_log_levels)) l.level = *lvl;
       }},
      {"format", [&](const YAML::Node& v, const std::string& p) {
         if (auto f = r.enumeration(v, p, k_log_formats)) l.format = *f;
       }},
  });
}

void read_offset_storage(reader& r, const YAML::Node& node, const std::string& path) {
  auto any = [&r](const YAML::Node& v, const std::string& p) { (void)r.string(v, p); };
  r.read_map(node, path, {
      {"backend", any}, {"db_path", any}, {"s3_key", any}, {"sync_interval_secs", any},
  });
  r.warn_at(path,
         "ignored: kafka-backup keeps its checkpoints in the backup set "
         "(topics/<topic>/<partition>/checkpoint.json), no local database is used");
}

// ---------------------------------------------------------------------------------------------
// Cross-field validation.

void validate_security(reader& r, const std::string& path, const security_config& s) {
  const std::string sec = path + ".security";
  if (s.uses_sasl()) {
    if (s.mechanism == sasl_mechanism::none) {
      r.error_at(sec + ".sasl_mechanism",
                 fmt::format("security_protocol {} needs sasl_mechanism ({})",
                             name_of(k_protocols, s.protocol), allowed_list(k_mechanisms)));
    } else if (s.mechanism != sasl_mechanism::gssapi) {
      if (s.sasl_username.empty()) {
        r.error_at(sec + ".sasl_username",
                   fmt::format("sasl_mechanism {} needs sasl_username",
                               name_of(k_mechanisms, s.mechanism)));
      }
      if (s.sasl_password.empty()) {
        r.error_at(sec + ".sasl_password",
                   fmt::format("sasl_mechanism {} needs sasl_password (e.g. sasl_password: "
                               "${{KAFKA_PASSWORD}})",
                               name_of(k_mechanisms, s.mechanism)));
      }
    }
  } else if (s.mechanism != sasl_mechanism::none || !s.sasl_username.empty() ||
             !s.sasl_password.empty()) {
    r.warn_at(sec + ".security_protocol",
              fmt::format("SASL settings are ignored with security_protocol {}; use SASL_SSL or "
                          "SASL_PLAINTEXT to authenticate",
                          name_of(k_protocols, s.protocol)));
  }
  if (s.ssl_certificate_location.has_value() != s.ssl_key_location.has_value()) {
    const auto present = s.ssl_certificate_location ? "ssl_certificate_location" : "ssl_key_location";
    const auto missing = s.ssl_certificate_location ? "ssl_key_location" : "ssl_certificate_location";
    r.error_at(sec + "." + present,
               fmt::format("mutual TLS needs both ssl_certificate_location and ssl_key_location; "
                           "{} is missing",
                           missing));
  }
  if (!s.ssl_key_password.empty() && !s.ssl_key_location) {
    r.warn_at(sec + ".ssl_key_password", "ignored: there is no ssl_key_location");
  }
  if (!s.uses_tls() && (s.ssl_ca_location || s.ssl_certificate_location || s.ssl_key_location)) {
    r.warn_at(sec + ".security_protocol",
              fmt::format("TLS settings are ignored with security_protocol {}; use SSL or SASL_SSL",
                          name_of(k_protocols, s.protocol)));
  }
  if (!s.ssl_endpoint_identification && s.uses_tls()) {
    r.warn_at(sec + ".ssl_endpoint_identification",
              "false: the broker's certificate is not checked against its host name; a "
              "man-in-the-middle with any certificate from your CA can read the traffic");
  }
}

void validate_kafka(reader& r, const std::string& path, const kafka_config& k) {
  if (k.bootstrap_servers.empty()) {
    r.error_at(path + ".bootstrap_servers",
               "needs at least one broker as host:port (e.g. [\"kafka-0:9092\"])");
  }
  if (k.client_id.empty()) r.error_at(path + ".client_id", "must not be empty");
  validate_security(r, path, k.security);
}

void validate_storage(reader& r, const storage_config& s) {
  struct key_rule {
    std::string_view key;
    std::initializer_list<storage_backend> backends;
  };
  using sb = storage_backend;
  static const std::array<key_rule, 28> rules{{
      {"path", {sb::filesystem}},
      {"bucket", {sb::s3, sb::gcs}},
      {"region", {sb::s3}},
      {"endpoint", {sb::s3, sb::azure, sb::gcs}},
      {"path_style", {sb::s3}},
      {"allow_http", {sb::s3, sb::azure, sb::gcs}},
      {"access_key", {sb::s3}},
      {"access_key_id", {sb::s3}},
      {"secret_key", {sb::s3}},
      {"secret_access_key", {sb::s3}},
      {"session_token", {sb::s3}},
      {"credentials", {sb::s3}},
      {"imds_endpoint", {sb::s3}},
      {"server_side_encryption", {sb::s3}},
      {"sse_kms_key_id", {sb::s3}},
      {"upload_checksum", {sb::s3}},
      {"retry_budget_ms", {sb::s3}},
      {"stall_timeout_ms", {sb::s3}},
      {"account_name", {sb::azure}},
      {"container_name", {sb::azure}},
      {"account_key", {sb::azure}},
      {"sas_token", {sb::azure}},
      {"use_workload_identity", {sb::azure}},
      {"client_id", {sb::azure}},
      {"tenant_id", {sb::azure}},
      {"client_secret", {sb::azure}},
      {"service_account_path", {sb::gcs}},
      {"prefix", {sb::filesystem, sb::s3, sb::azure, sb::gcs}},
  }};
  for (const auto& rule : rules) {
    const auto key_path = fmt::format("storage.{}", rule.key);
    if (!r.seen(key_path)) continue;
    if (std::find(rule.backends.begin(), rule.backends.end(), s.backend) == rule.backends.end()) {
      r.warn_at(key_path, fmt::format("ignored with backend {}", name_of(k_backends, s.backend)));
    }
  }
  switch (s.backend) {
    case sb::filesystem:
      if (s.path.empty()) {
        r.error_at("storage.path", "backend filesystem needs path (a directory, e.g. ./kafka-backups)");
      }
      break;
    case sb::s3:
      if (s.bucket.empty()) r.error_at("storage.bucket", "backend s3 needs bucket");
      if (s.access_key.empty() != s.secret_key.empty() && r.seen("storage.access_key") != r.seen("storage.secret_key")) {
        r.error_at(s.access_key.empty() ? "storage.secret_key" : "storage.access_key",
                   "access_key and secret_key go together (or leave both out to use the AWS_* "
                   "environment variables)");
      }
      if (s.sse_kms_key_id && s.sse != server_side_encryption::aws_kms) {
        r.error_at("storage.sse_kms_key_id", "needs server_side_encryption: aws:kms");
      }
      break;
    case sb::azure:
      if (s.account_name.empty()) r.error_at("storage.account_name", "backend azure needs account_name");
      if (s.container_name.empty()) r.error_at("storage.container_name", "backend azure needs container_name");
      break;
    case sb::gcs:
      if (s.bucket.empty()) r.error_at("storage.bucket", "backend gcs needs bucket");
      break;
  }
  if (s.endpoint && s.endpoint->rfind("http://", 0) != 0 && s.endpoint->rfind("https://", 0) != 0) {
    r.error_at("storage.endpoint", "must be a URL starting with http:// or https://");
  }
}

void validate(reader& r, config& cfg, const YAML::Node& root) {
  if (!r.seen("mode")) {
    r.error(root.Mark(), "mode", "is required: backup or restore");
  }
  static const std::regex id_pattern("[A-Za-z0-9._-]+");
  if (!r.seen("backup_id")) {
    r.error(root.Mark(), "backup_id", "is required (letters, digits, '.', '_' and '-')");
  } else if (!std::regex_match(cfg.backup_id, id_pattern) || cfg.backup_id == "." ||
             cfg.backup_id == "..") {
    r.error_at("backup_id",
               fmt::format("'{}' is not a valid backup id: use only letters, digits, '.', '_' and "
                           "'-' (it names a folder in storage)",
                           cfg.backup_id.substr(0, 80)));
  }
  if (cfg.mode == run_mode::backup) {
    if (!cfg.source) {
      r.error(root.Mark(), "source", "is required for mode backup (the cluster to back up)");
    }
    if (cfg.target) r.warn_at("target", "ignored in mode backup (source: is the cluster read)");
  } else {
    if (!cfg.target) {
      r.error(root.Mark(), "target", "is required for mode restore (the cluster to restore into)");
    }
    if (cfg.source) r.warn_at("source", "ignored in mode restore (target: is the cluster written)");
  }
  if (cfg.source) validate_kafka(r, "source", *cfg.source);
  if (cfg.target) validate_kafka(r, "target", *cfg.target);

  if (!r.seen("storage")) {
    r.error(root.Mark(), "storage", "is required (e.g. storage: {backend: filesystem, path: ./kafka-backups})");
  } else {
    validate_storage(r, cfg.storage);
  }

  const auto& b = cfg.backup;
  if (b.continuous && b.stop_at_current_offsets) {
    r.error_at("backup.stop_at_current_offsets",
               "cannot be combined with continuous: true (a snapshot stops, a continuous backup "
               "does not); set one of them to false");
  }
  if (cfg.mode == run_mode::backup) {
    // A budget one fetch does not fit in would wait forever for memory nothing frees.
    const auto fetch = pipeline::backup::effective_fetch_max_bytes(b.fetch_max_bytes, b.segment_max_bytes);
    const auto floor = pipeline::backup::min_buffer_bytes(fetch);
    if (b.max_buffer_bytes < floor) {
      r.error_at("backup.max_buffer_bytes",
                 fmt::format("{} is below the minimum of {} bytes: one fetch (min(fetch_max_bytes, 1 MiB) = {} "
                             "bytes) must fit in the memory budget; set max_buffer_bytes to at least {}",
                             b.max_buffer_bytes, floor, floor, floor));
    }
  }
  if (r.seen("backup.compression_level")) {
    switch (b.compression) {
      case compression_codec::zstd:
        if (b.compression_level < 1 || b.compression_level > 22) {
          r.error_at("backup.compression_level",
                     fmt::format("must be between 1 and 22 for zstd, not {}", b.compression_level));
        }
        break;
      case compression_codec::lz4:
        if (b.compression_level < 1 || b.compression_level > 12) {
          r.error_at("backup.compression_level",
                     fmt::format("must be between 1 and 12 for lz4, not {}", b.compression_level));
        }
        break;
      case compression_codec::none:
        r.warn_at("backup.compression_level", "ignored with compression: none");
        break;
    }
  }

  auto& o = cfg.restore;
  if (o.time_window_start && o.time_window_end && *o.time_window_start > *o.time_window_end) {
    r.error_at("restore.time_window_start",
               fmt::format("time_window_start ({}) is after time_window_end ({}); both are "
                           "inclusive epoch milliseconds",
                           *o.time_window_start, *o.time_window_end));
  }
  if (o.reset_consumer_offsets && o.consumer_groups.empty() && !o.auto_consumer_groups) {
    r.error_at("restore.reset_consumer_offsets",
               "needs consumer_groups (the groups whose offsets to translate) or "
               "auto_consumer_groups: true");
  }
  if (!o.consumer_groups.empty() && !o.reset_consumer_offsets && !o.auto_consumer_groups &&
      r.seen("restore.reset_consumer_offsets")) {
    r.warn_at("restore.consumer_groups",
              "listed but reset_consumer_offsets is false: their offsets will not be committed");
  }
  if (o.auto_consumer_groups) o.reset_consumer_offsets = true;
}

// ---------------------------------------------------------------------------------------------
// Printing.

json::value secret_json(const secret_value& s) {
  if (s.empty()) return json::value("");
  return json::value("***");
}

template <class T>
json::value optional_json(const std::optional<T>& v) {
  if (!v) return nullptr;
  return json::value_from(*v);
}

json::array strings_json(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

json::object kafka_json(const kafka_config& k) {
  const auto& s = k.security;
  json::object security;
  security["security_protocol"] = to_string(s.protocol);
  security["sasl_mechanism"] =
      s.mechanism == sasl_mechanism::none ? json::value(nullptr) : json::value(to_string(s.mechanism));
  security["sasl_username"] = s.sasl_username;
  security["sasl_password"] = secret_json(s.sasl_password);
  security["ssl_ca_location"] = optional_json(s.ssl_ca_location);
  security["ssl_certificate_location"] = optional_json(s.ssl_certificate_location);
  security["ssl_key_location"] = optional_json(s.ssl_key_location);
  security["ssl_key_password"] = secret_json(s.ssl_key_password);
  security["ssl_endpoint_identification"] = s.ssl_endpoint_identification;
  security["sasl_kerberos_service_name"] = s.sasl_kerberos_service_name;
  security["sasl_keytab_path"] = optional_json(s.sasl_keytab_path);
  security["sasl_krb5_config_path"] = optional_json(s.sasl_krb5_config_path);

  json::object topics;
  topics["include"] = strings_json(k.topics.include);
  topics["exclude"] = strings_json(k.topics.exclude);

  json::object connection;
  connection["tcp_keepalive"] = k.connection.tcp_keepalive;
  connection["keepalive_time_secs"] = k.connection.keepalive_time_secs;
  connection["keepalive_interval_secs"] = k.connection.keepalive_interval_secs;
  connection["tcp_nodelay"] = k.connection.tcp_nodelay;
  connection["connections_per_broker"] = k.connection.connections_per_broker;

  json::object out;
  out["bootstrap_servers"] = strings_json(k.bootstrap_servers);
  out["client_id"] = k.client_id;
  out["security"] = std::move(security);
  out["topics"] = std::move(topics);
  out["connection"] = std::move(connection);
  return out;
}

json::object storage_json(const storage_config& s) {
  json::object out;
  out["backend"] = to_string(s.backend);
  out["prefix"] = s.prefix;
  switch (s.backend) {
    case storage_backend::filesystem:
      out["path"] = s.path;
      break;
    case storage_backend::s3:
      out["bucket"] = s.bucket;
      out["region"] = optional_json(s.region);
      out["endpoint"] = optional_json(s.endpoint);
      out["path_style"] = s.path_style;
      out["allow_http"] = s.allow_http;
      out["access_key"] = secret_json(s.access_key);
      out["secret_key"] = secret_json(s.secret_key);
      out["session_token"] = secret_json(s.session_token);
      out["credentials"] = s.credentials;
      out["imds_endpoint"] = optional_json(s.imds_endpoint);
      out["server_side_encryption"] = to_string(s.sse);
      out["sse_kms_key_id"] = optional_json(s.sse_kms_key_id);
      out["upload_checksum"] = to_string(s.checksum);
      out["retry_budget_ms"] = s.retry_budget_ms;
      out["stall_timeout_ms"] = s.stall_timeout_ms;
      break;
    case storage_backend::azure:
      out["account_name"] = s.account_name;
      out["container_name"] = s.container_name;
      out["endpoint"] = optional_json(s.endpoint);
      out["account_key"] = secret_json(s.account_key);
      out["sas_token"] = secret_json(s.sas_token);
      out["use_workload_identity"] = s.use_workload_identity;
      out["client_id"] = optional_json(s.client_id);
      out["tenant_id"] = optional_json(s.tenant_id);
      out["client_secret"] = secret_json(s.client_secret);
      break;
    case storage_backend::gcs:
      out["bucket"] = s.bucket;
      out["endpoint"] = optional_json(s.endpoint);
      out["service_account_path"] = optional_json(s.service_account_path);
      break;
  }
  return out;
}

json::object backup_json(const backup_options& b) {
  json::object out;
  out["compression"] = to_string(b.compression);
  out["compression_level"] = b.compression_level;
  out["segment_max_bytes"] = b.segment_max_bytes;
  out["segment_max_interval_ms"] = b.segment_max_interval_ms;
  out["segment_max_records"] = optional_json(b.segment_max_records);
  out["fetch_max_bytes"] = optional_json(b.fetch_max_bytes);
  out["continuous"] = b.continuous;
  out["poll_interval_ms"] = b.poll_interval_ms;
  out["stop_at_current_offsets"] = b.stop_at_current_offsets;
  if (b.start_offset == start_offset_policy::specific) {
    json::object topics;
    for (const auto& [topic, partitions] : b.specific_offsets) {
      json::object per;
      for (const auto& [partition, offset] : partitions) per[std::to_string(partition)] = offset;
      topics[topic] = std::move(per);
    }
    json::object specific;
    specific["specific"] = std::move(topics);
    out["start_offset"] = std::move(specific);
  } else {
    out["start_offset"] = to_string(b.start_offset);
  }
  out["max_concurrent_partitions"] = b.max_concurrent_partitions;
  out["include_internal_topics"] = b.include_internal_topics;
  out["internal_topics"] = strings_json(b.internal_topics);
  out["include_offset_headers"] = b.include_offset_headers;
  out["source_cluster_id"] = optional_json(b.source_cluster_id);
  out["consumer_group_snapshot"] = b.consumer_group_snapshot;
  out["max_buffer_bytes"] = b.max_buffer_bytes;
  return out;
}

json::object restore_json(const restore_options& o) {
  json::object out;
  out["time_window_start"] = optional_json(o.time_window_start);
  out["time_window_end"] = optional_json(o.time_window_end);
  json::array partitions;
  for (auto p : o.source_partitions) partitions.emplace_back(p);
  out["source_partitions"] = std::move(partitions);
  json::object topic_mapping;
  for (const auto& [from, to] : o.topic_mapping) topic_mapping[from] = to;
  out["topic_mapping"] = std::move(topic_mapping);
  json::object partition_mapping;
  for (const auto& [from, to] : o.partition_mapping) partition_mapping[std::to_string(from)] = to;
  out["partition_mapping"] = std::move(partition_mapping);
  json::object repartitioning;
  for (const auto& [topic, rule] : o.repartitioning) {
    json::object r;
    r["strategy"] = to_string(rule.strategy);
    r["target_partitions"] = rule.target_partitions;
    repartitioning[topic] = std::move(r);
  }
  out["repartitioning"] = std::move(repartitioning);
  out["create_topics"] = o.create_topics;
  out["default_replication_factor"] = optional_json(o.default_replication_factor);
  out["purge_topics"] = o.purge_topics;
  out["consumer_groups"] = strings_json(o.consumer_groups);
  out["reset_consumer_offsets"] = o.reset_consumer_offsets;
  out["auto_consumer_groups"] = o.auto_consumer_groups;
  out["allow_gaps"] = o.allow_gaps;
  out["dry_run"] = o.dry_run;
  out["produce_acks"] = o.produce_acks;
  out["produce_timeout_ms"] = o.produce_timeout_ms;
  out["produce_batch_size"] = o.produce_batch_size;
  out["max_concurrent_partitions"] = o.max_concurrent_partitions;
  out["rate_limit_records_per_sec"] = optional_json(o.rate_limit_records_per_sec);
  out["rate_limit_bytes_per_sec"] = optional_json(o.rate_limit_bytes_per_sec);
  out["checkpoint_state"] = optional_json(o.checkpoint_state);
  out["offset_report"] = optional_json(o.offset_report);
  out["state_dir"] = optional_json(o.state_dir);
  return out;
}

json::object config_json(const config& cfg) {
  json::object out;
  out["mode"] = to_string(cfg.mode);
  out["backup_id"] = cfg.backup_id;
  if (cfg.source) out["source"] = kafka_json(*cfg.source);
  if (cfg.target) out["target"] = kafka_json(*cfg.target);
  out["storage"] = storage_json(cfg.storage);
  if (cfg.mode == run_mode::backup) {
    out["backup"] = backup_json(cfg.backup);
  } else {
    out["restore"] = restore_json(cfg.restore);
  }
  json::object metrics;
  metrics["enabled"] = cfg.metrics.enabled;
  metrics["bind_address"] = cfg.metrics.bind_address;
  metrics["port"] = cfg.metrics.port;
  metrics["path"] = cfg.metrics.path;
  metrics["keep_alive_seconds"] = cfg.metrics.keep_alive_seconds;
  metrics["max_partition_labels"] = cfg.metrics.max_partition_labels;
  out["metrics"] = std::move(metrics);
  json::object logging;
  logging["level"] = cfg.logging.level ? json::value(name_of(k_log_levels, *cfg.logging.level))
                                       : json::value(nullptr);
  logging["format"] = cfg.logging.format ? json::value(name_of(k_log_formats, *cfg.logging.format))
                                         : json::value(nullptr);
  out["logging"] = std::move(logging);
  return out;
}

/// Strings that YAML would read back as another type get double quotes.
bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  const std::string l = lower(s);
  static const std::array<std::string_view, 12> words{"true", "false", "yes", "no", "on", "off",
                                                      "y", "n", "null", "~", ".nan", ".inf"};
  if (std::find(words.begin(), words.end(), l) != words.end()) return true;
  double d = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  return ec == std::errc() && ptr == s.data() + s.size();
}

void emit_yaml(YAML::Emitter& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: out << YAML::Null; break;
    case json::kind::bool_: out << v.get_bool(); break;
    case json::kind::int64: out << v.get_int64(); break;
    case json::kind::uint64: out << v.get_uint64(); break;
    case json::kind::double_: out << v.get_double(); break;
    case json::kind::string: {
      const std::string s(v.get_string());
      if (needs_quotes(s)) out << YAML::DoubleQuoted;
      out << s;
      break;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      out << YAML::BeginSeq;
      for (const auto& item : a) emit_yaml(out, item);
      out << YAML::EndSeq;
      break;
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      out << YAML::BeginMap;
      for (const auto& [key, item] : o) {
        out << YAML::Key << std::string(key) << YAML::Value;
        emit_yaml(out, item);
      }
      out << YAML::EndMap;
      break;
    }
  }
}

// RFC 3339 helpers.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

// -----------------------------------------------------------------------------------------------
// Public functions.

std::string_view to_string(run_mode m) noexcept { return name_of(k_modes, m); }
std::string_view to_string(security_protocol p) noexcept { return name_of(k_protocols, p); }
std::string_view to_string(sasl_mechanism m) noexcept {
  return m == sasl_mechanism::none ? "none" : name_of(k_mechanisms, m);
}
std::string_view to_string(storage_backend b) noexcept { return name_of(k_backends, b); }
std::string_view to_string(server_side_encryption s) noexcept { return name_of(k_sse, s); }
std::string_view to_string(upload_checksum c) noexcept { return name_of(k_upload_checksums, c); }
std::string_view to_string(compression_codec c) noexcept { return name_of(k_codecs, c); }
std::string_view to_string(start_offset_policy s) noexcept {
  return s == start_offset_policy::specific ? "specific" : name_of(k_start_offsets, s);
}
std::string_view to_string(repartition_strategy s) noexcept { return name_of(k_strategies, s); }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool is_secret_key(std::string_view key) noexcept {
  const auto contains = [&](std::string_view part) { return key.find(part) != std::string_view::npos; };
  return contains("password") || contains("secret") || key == "session_token" ||
         key == "sas_token" || key == "account_key";
}

std::string normalize_prefix(std::string_view prefix) {
  std::string out;
  std::size_t i = 0;
  while (i < prefix.size()) {
    while (i < prefix.size() && prefix[i] == '/') ++i;
    const auto start = i;
    while (i < prefix.size() && prefix[i] != '/') ++i;
    if (i > start) {
      out.append(prefix.substr(start, i - start));
      out += '/';
    }
  }
  return out;
}

std::optional<std::int64_t> parse_timestamp_ms(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t ms = 0;
    if (!parse_integer(s, ms)) return std::nullopt;
    return ms;
  }
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1) return std::nullopt;
  static constexpr std::array<int, 12> month_days{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > month_days[static_cast<std::size_t>(month - 1)] || (month == 2 && day == 29 && !leap)) {
    return std::nullopt;
  }
  std::int64_t millis = 0;
  std::int64_t offset_minutes = 0;
  if (s.size() > 10) {
    const char sep = s[10];
    if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
    if (!digits(s, 11, 2, hour) || s.size() < 19 || s[13] != ':' || !digits(s, 14, 2, minute) ||
        s[16] != ':' || !digits(s, 17, 2, second)) {
      return std::nullopt;
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (second == 60) second = 59;  // leap second: the last representable millisecond range
    std::size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int scale = 100;
      const std::size_t start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        millis += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
    if (pos >= s.size()) return std::nullopt;  // RFC 3339 needs a zone
    if (s[pos] == 'Z' || s[pos] == 'z') {
      if (pos + 1 != s.size()) return std::nullopt;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh = 0, om = 0;
      if (s.size() != pos + 6 || !digits(s, pos + 1, 2, oh) || s[pos + 3] != ':' ||
          !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
        return std::nullopt;
      }
      offset_minutes = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
    } else {
      return std::nullopt;
    }
  }
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

kb::result<config> load_config_text(std::string_view text, std::string_view source_name,
                                    const env_lookup& env) {
  auto substituted = substitute_env(text, env, source_name);
  if (!substituted) return kb::fail(substituted.error());

  YAML::Node root;
  try {
    root = YAML::Load(substituted->text());
  } catch (const YAML::Exception& e) {
    std::string where(source_name);
    std::string message = e.msg;
    if (!e.mark.is_null() && e.mark.pos >= 0) {
      const auto offset = static_cast<std::size_t>(e.mark.pos);
      const auto pos = substituted->original_position(offset);
      where = fmt::format("{}:{}:{}", source_name, pos.line, pos.column);
      // The parser may have stopped inside a substituted value: never echo it.
      if (const auto* span = substituted->span_overlapping(offset > 0 ? offset - 1 : 0, offset + 1)) {
        message = fmt::format("the value of ${{{}}} is not valid YAML here; quote the reference, "
                              "e.g. key: \"${{{}}}\"",
                              span->variable, span->variable);
      }
    }
    return kb::fail(kb::errc::config, fmt::format("{}: invalid YAML: {}", where, message));
  }

  config cfg;
  cfg.file = std::string(source_name);
  reader r(*substituted, source_name);
  if (!root || root.IsNull()) {
    return kb::fail(kb::errc::config,
                    fmt::format("{}: the configuration is empty (needs at least mode, backup_id, "
                                "source or target, storage)",
                                source_name));
  }
  if (!root.IsMap()) {
    return kb::fail(kb::errc::config,
                    fmt::format("{}: the configuration must be a mapping of keys (mode, backup_id, "
                                "source, storage, ...)",
                                r.where(root.Mark())));
  }
  try {
    r.read_map(root, "", {
        {"mode", [&](const YAML::Node& v, const std::string& p) { assign(cfg.mode, r.enumeration(v, p, k_modes)); }},
        {"backup_id", [&](const YAML::Node& v, const std::string& p) { assign(cfg.backup_id, r.string(v, p)); }},
        {"source", [&](const YAML::Node& v, const std::string& p) {
           cfg.source.emplace();
           read_kafka(r, v, p, *cfg.source);
         }},
        {"target", [&](const YAML::Node& v, const std::string& p) {
           cfg.target.emplace();
           read_kafka(r, v, p, *cfg.target);
         }},
        {"storage", [&](const YAML::Node& v, const std::string& p) { read_storage(r, v, p, cfg.storage); }},
        {"backup", [&](const YAML::Node& v, const std::string& p) { read_backup(r, v, p, cfg.backup); }},
        {"restore", [&](const YAML::Node& v, const std::string& p) { read_restore(r, v, p, cfg.restore); }},
        {"metrics", [&](const YAML::Node& v, const std::string& p) { read_metrics(r, v, p, cfg.metrics); }},
        {"logging", [&](const YAML::Node& v, const std::string& p) { read_logging(r, v, p, cfg.logging); }},
        {"offset_storage", [&](const YAML::Node& v, const std::string& p) { read_offset_storage(r, v, p); }},
    });
    validate(r, cfg, root);
  } catch (const YAML::Exception& e) {
    // Node access should not throw after a successful parse; convert just in case.
    r.error(e.mark, "", fmt::format("invalid YAML: {}", e.msg));
  }

  if (!r.errors().empty()) {
    std::string message = r.errors().front();
    for (std::size_t i = 1; i < r.errors().size(); ++i) message += "\n" + r.errors()[i];
    return kb::fail(kb::errc::config, std::move(message));
  }
  cfg.warnings = std::move(r.warnings());
  return cfg;
}

kb::result<config> load_config_file(const std::string& path, const env_lookup& env) {
  auto text = read_config_file(path);
  if (!text) return kb::fail(std::move(text.error()));
  return load_config_text(*text, path, env);
}

std::string to_yaml(const config& cfg) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit_yaml(out, json::value(config_json(cfg)));
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

std::string to_json(const config& cfg) { return json::serialize(config_json(cfg)) + "\n"; }

}  // namespace kb::cli
