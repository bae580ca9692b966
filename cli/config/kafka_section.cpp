// `source:` / `target:`: brokers, security, topic selection, connection options.
#include <string_view>

#include "base/regex.hpp"
#include "base/url.hpp"
#include "cli/config/json_util.hpp"
#include "cli/config/sections.hpp"

namespace kb::cli::config_detail {
namespace {

namespace json = boost::json;

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
        if (auto compiled = compile_regex(std::string_view(pattern).substr(1)); !compiled) {
          r.error(v.IsSequence() ? v[i].Mark() : v.Mark(), item_path,
                  fmt::format("invalid regular expression after '~': {}", compiled.error().message));
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
      {"sasl_password", secret_field(r, s.sasl_password)},
      {"ssl_ca_location", optional_string_field(r, s.ssl_ca_location)},
      {"ssl_certificate_location", optional_string_field(r, s.ssl_certificate_location)},
      {"ssl_key_location", optional_string_field(r, s.ssl_key_location)},
      {"ssl_key_password", secret_field(r, s.ssl_key_password)},
      {"ssl_endpoint_identification", [&](const YAML::Node& v, const std::string& p) {
         assign(s.ssl_endpoint_identification, r.boolean(v, p));
       }},
      {"sasl_kerberos_service_name", [&](const YAML::Node& v, const std::string& p) {
         assign(s.sasl_kerberos_service_name, r.string(v, p));
       }},
      {"sasl_keytab_path", optional_string_field(r, s.sasl_keytab_path)},
      {"sasl_krb5_config_path", optional_string_field(r, s.sasl_krb5_config_path)},
      {"sasl_oauthbearer_token_endpoint_url", optional_string_field(r, s.sasl_oauthbearer_token_endpoint_url)},
      {"sasl_oauthbearer_client_id", optional_string_field(r, s.sasl_oauthbearer_client_id)},
      {"sasl_oauthbearer_client_secret", secret_field(r, s.sasl_oauthbearer_client_secret)},
      {"sasl_oauthbearer_scope", optional_string_field(r, s.sasl_oauthbearer_scope)},
      {"sasl_oauthbearer_token_file", optional_string_field(r, s.sasl_oauthbearer_token_file)},
      {"sasl_aws_region", optional_string_field(r, s.sasl_aws_region)},
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

void validate_security(reader& r, const std::string& path, const security_config& s) {
  const std::string sec = path + ".security";
  if (s.uses_sasl()) {
    if (s.mechanism == sasl_mechanism::none) {
      r.error_at(sec + ".sasl_mechanism",
                 fmt::format("security_protocol {} needs sasl_mechanism ({})",
                             name_of(k_protocols, s.protocol), allowed_list(k_mechanisms)));
    } else if (s.mechanism == sasl_mechanism::oauthbearer) {
      if (s.sasl_oauthbearer_token_file) {
        if (s.sasl_oauthbearer_token_endpoint_url) {
          r.error_at(sec + ".sasl_oauthbearer_token_file",
                     "set either sasl_oauthbearer_token_file or sasl_oauthbearer_token_endpoint_url, not both");
        }
      } else if (!s.sasl_oauthbearer_token_endpoint_url) {
        r.error_at(sec + ".sasl_mechanism",
                   "OAUTHBEARER needs sasl_oauthbearer_token_endpoint_url with sasl_oauthbearer_client_id and "
                   "sasl_oauthbearer_client_secret (client credentials), or sasl_oauthbearer_token_file");
      } else {
        if (auto u = url::parse_http_url(*s.sasl_oauthbearer_token_endpoint_url); !u) {
          r.error_at(sec + ".sasl_oauthbearer_token_endpoint_url",
                     "must be a URL starting with https:// or http:// (" + u.error().message + ")");
        }
        if (!s.sasl_oauthbearer_client_id || s.sasl_oauthbearer_client_id->empty()) {
          r.error_at(sec + ".sasl_oauthbearer_client_id", "the token endpoint needs sasl_oauthbearer_client_id");
        }
        if (s.sasl_oauthbearer_client_secret.empty()) {
          r.error_at(sec + ".sasl_oauthbearer_client_secret",
                     "the token endpoint needs sasl_oauthbearer_client_secret (e.g. ${OAUTH_CLIENT_SECRET})");
        }
      }
    } else if (s.mechanism == sasl_mechanism::aws_msk_iam) {
      if (s.sasl_aws_region && s.sasl_aws_region->empty()) {
        r.error_at(sec + ".sasl_aws_region", "must not be empty; remove it to take the region from the broker host name");
      }
      // The AWS credential chain signs; a user name or password here would be silently unused.
      if (!s.sasl_username.empty() || !s.sasl_password.empty()) {
        r.error_at(sec + ".sasl_mechanism",
                   "AWS_MSK_IAM takes no sasl_username/sasl_password; it signs with the AWS credential chain "
                   "(AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity, container or instance credentials)");
      }
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

}  // namespace

void read_kafka(reader& r, const YAML::Node& node, const std::string& path, kafka_config& k) {
  r.read_map(node, path, {
      {"bootstrap_servers", [&](const YAML::Node& v, const std::string& p) {
         auto list = r.string_list(v, p);
         if (!list) return;
         auto servers = split_servers(*list);
         for (std::size_t i = 0; i < servers.size(); ++i) {
           if (!url::parse_host_port(servers[i])) {
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

void validate_kafka(reader& r, const std::string& path, const kafka_config& k) {
  if (k.bootstrap_servers.empty()) {
    r.error_at(path + ".bootstrap_servers",
               "needs at least one broker as host:port (e.g. [\"kafka-0:9092\"])");
  }
  if (k.client_id.empty()) r.error_at(path + ".client_id", "must not be empty");
  validate_security(r, path, k.security);
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
  security["sasl_oauthbearer_token_endpoint_url"] = optional_json(s.sasl_oauthbearer_token_endpoint_url);
  security["sasl_oauthbearer_client_id"] = optional_json(s.sasl_oauthbearer_client_id);
  security["sasl_oauthbearer_client_secret"] = secret_json(s.sasl_oauthbearer_client_secret);
  security["sasl_oauthbearer_scope"] = optional_json(s.sasl_oauthbearer_scope);
  security["sasl_oauthbearer_token_file"] = optional_json(s.sasl_oauthbearer_token_file);
  security["sasl_aws_region"] = optional_json(s.sasl_aws_region);

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

}  // namespace kb::cli::config_detail
