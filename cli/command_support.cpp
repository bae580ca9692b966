#include "cli/command_support.hpp"

#include <algorithm>
#include <chrono>
#include <ostream>
#include <string_view>

#include <stdlib.h>  // setenv (KRB5_CONFIG for GSSAPI)
#include <unistd.h>  // access

#include <fmt/format.h>

#include "base/log.hpp"
#include "cli/msk_iam_source.hpp"
#include "net/oauth_token.hpp"
#include "net/tls.hpp"
#include "storage/location.hpp"

namespace kb::cli {

void print_error(std::ostream& err, std::string_view message) {
  std::size_t start = 0;
  while (start <= message.size()) {
    auto end = message.find('\n', start);
    if (end == std::string_view::npos) end = message.size();
    const auto line = message.substr(start, end - start);
    // --log-format json: the error is a log record too, so a log shipper sees the same phrase.
    if (kb::log::current_format() == kb::log::format::json) {
      if (!line.empty()) err << kb::log::format_line(kb::log::level::error, line) << '\n';
    } else if (line.rfind("usage: ", 0) == 0 || line.rfind("Run '", 0) == 0 || line.rfind("  ", 0) == 0) {
      // Usage hints, "Run ..." lines and indented continuation lines (a command to copy) stay
      // unprefixed, as a shell user expects.
      err << line << '\n';
    } else {
      err << "error: " << line << '\n';
    }
    start = end + 1;
  }
}

void apply_logging(const global_flags& flags, const logging_config* from_config) {
  if (flags.log_level) {
    kb::log::set_level(*flags.log_level);
  } else if (from_config && from_config->level) {
    kb::log::set_level(*from_config->level);
  }
  if (flags.log_format) {
    kb::log::set_format(*flags.log_format);
  } else if (from_config && from_config->format) {
    kb::log::set_format(*from_config->format);
  }
}

std::optional<config> load(const parsed_args& args, std::ostream& err, const env_lookup& env) {
  apply_logging(args.global, nullptr);  // --log-format json applies to a configuration error too
  auto cfg = load_config_file(args.config_path, env);
  if (!cfg) {
    print_error(err, cfg.error().message);
    return std::nullopt;
  }
  apply_logging(args.global, &cfg->logging);
  for (const auto& warning : cfg->warnings) kb::log::warn("{}", warning);
  return std::move(*cfg);
}

int report(std::ostream& err, const kb::error& e) {
  print_error(err, e.message);
  return static_cast<int>(kb::exit_code_for(e));
}

kb::result<net::cluster_options> cluster_options_from(const kafka_config& k, std::string_view section) {
  net::cluster_options o;
  o.bootstrap_servers = k.bootstrap_servers;
  o.connection.client_id = k.client_id;
  o.connections_per_broker = k.connection.connections_per_broker;
  const auto& s = k.security;
  o.connection.protocol = s.protocol;
  if (s.uses_sasl()) {
    switch (s.mechanism) {
      case sasl_mechanism::plain: o.connection.sasl.mechanism = "PLAIN"; break;
      case sasl_mechanism::scram_sha_256: o.connection.sasl.mechanism = "SCRAM-SHA-256"; break;
      case sasl_mechanism::scram_sha_512: o.connection.sasl.mechanism = "SCRAM-SHA-512"; break;
      case sasl_mechanism::gssapi: {
#ifdef KB_HAVE_GSSAPI
        o.connection.sasl.mechanism = "GSSAPI";
        o.connection.sasl.kerberos_service_name = s.sasl_kerberos_service_name;
        if (s.sasl_keytab_path) {
          if (::access(s.sasl_keytab_path->c_str(), R_OK) != 0)
            return fail(errc::config, fmt::format("{}.security.sasl_keytab_path: cannot read keytab {}", section,
                                                  *s.sasl_keytab_path));
          o.connection.sasl.keytab_path = *s.sasl_keytab_path;
        }
        if (s.sasl_krb5_config_path) {
          if (::access(s.sasl_krb5_config_path->c_str(), R_OK) != 0)
            return fail(errc::config, fmt::format("{}.security.sasl_krb5_config_path: cannot read {}", section,
                                                  *s.sasl_krb5_config_path));
          // MIT Kerberos reads its profile from $KRB5_CONFIG when its first context is made;
          // this runs before any connection exists.
          ::setenv("KRB5_CONFIG", s.sasl_krb5_config_path->c_str(), 1);
        }
        break;
#else
        // A setting this binary cannot honour is a configuration error (exit 2), not a runtime one.
        return fail(errc::config, fmt::format("{}.security.sasl_mechanism: GSSAPI is not built into this "
                                              "binary (build with -Dgssapi=enabled)",
                                              section));
#endif
      }
      case sasl_mechanism::oauthbearer: {
        o.connection.sasl.mechanism = "OAUTHBEARER";
        net::oauth_settings os;
        os.token_endpoint_url = s.sasl_oauthbearer_token_endpoint_url.value_or("");
        os.client_id = s.sasl_oauthbearer_client_id.value_or("");
        os.client_secret = net::secret(s.sasl_oauthbearer_client_secret.reveal());
        os.scope = s.sasl_oauthbearer_scope.value_or("");
        os.token_file = s.sasl_oauthbearer_token_file.value_or("");
        os.ca_file = s.ssl_ca_location.value_or("");
        auto source = net::make_oauth_token_source(os);
        if (!source) return fail(errc::config, fmt::format("{}.security: {}", section, source.error().message));
        // Messages name the client (or the token file) where other mechanisms name the user.
        o.connection.sasl.username = os.token_file.empty() ? os.client_id : "token file " + os.token_file;
        o.connection.sasl.oauth_token = std::move(*source);
        break;
      }
      case sasl_mechanism::aws_msk_iam: {
        o.connection.sasl.mechanism = "AWS_MSK_IAM";
        auto settings = msk_iam_settings_from(s, process_environment());
        if (!settings) return fail(settings.error().code, fmt::format("{}.security: {}", section, settings.error().message));
        o.connection.sasl.msk_iam = std::move(*settings);
        o.connection.sasl.username = "AWS credential chain";  // what messages name instead of a user
        break;
      }
      case sasl_mechanism::none:
        return fail(errc::config, fmt::format("{}.security.sasl_mechanism is required with a SASL security_protocol",
                                              section));
    }
    if (s.mechanism != sasl_mechanism::oauthbearer && s.mechanism != sasl_mechanism::aws_msk_iam)
      o.connection.sasl.username = s.sasl_username;
    o.connection.sasl.password = net::secret(s.sasl_password.reveal());
  }
  if (s.uses_tls()) {
    o.connection.tls.ca_location = s.ssl_ca_location;
    o.connection.tls.certificate_location = s.ssl_certificate_location;
    o.connection.tls.key_location = s.ssl_key_location;
    if (!s.ssl_key_password.empty()) o.connection.tls.key_password = net::secret(s.ssl_key_password.reveal());
    o.connection.tls.endpoint_identification = s.ssl_endpoint_identification;
    if (!s.ssl_endpoint_identification) {
      // Once per run here, not per connection (the connections stay silent about it).
      kb::log::warn("{}.security.ssl_endpoint_identification is false: broker host names are not verified against "
                    "their certificates; anyone with a certificate from the same CA can impersonate a broker",
                    section);
    }
    // Built once here: a missing CA, certificate or key file is a configuration error before
    // anything else starts, and every broker connection shares the context.
    auto ctx = net::make_tls_context(o.connection.tls);
    if (!ctx) return fail(std::move(ctx.error()));
    o.connection.tls_context = std::move(*ctx);
  }
  return o;
}

kb::result<std::unique_ptr<storage::object_store>> open_config_store(const storage_config& sc) {
  storage::location where;
  storage::store_settings settings;
  switch (sc.backend) {
    case storage_backend::filesystem:
      where.kind = storage::backend_kind::filesystem;
      where.path = sc.path;
      break;
    case storage_backend::s3:
      where.kind = storage::backend_kind::s3;
      where.bucket = sc.bucket;
      where.endpoint = sc.endpoint.value_or("");
      where.region = sc.region.value_or("");
      where.path_style = sc.path_style ? std::optional<bool>(true) : std::nullopt;
      settings.access_key = sc.access_key.reveal();
      settings.secret_key = storage::secret_string(sc.secret_key.reveal());
      settings.session_token = storage::secret_string(sc.session_token.reveal());
      settings.credential_source = sc.credentials;
      settings.imds_endpoint = sc.imds_endpoint.value_or("");
      settings.imds_v1 = sc.imds_v1;
      settings.sts_endpoint = sc.sts_endpoint.value_or("");
      switch (sc.sse) {
        case server_side_encryption::none: settings.sse = storage::sse_mode::none; break;
        case server_side_encryption::aes256: settings.sse = storage::sse_mode::aes256; break;
        case server_side_encryption::aws_kms: settings.sse = storage::sse_mode::aws_kms; break;
      }
      settings.sse_kms_key_id = sc.sse_kms_key_id.value_or("");
      settings.checksum = sc.checksum == upload_checksum::sha256 ? storage::upload_checksum::sha256
                                                                 : storage::upload_checksum::crc32c;
      // 0 would mean "the default" below: a zero budget is one attempt, so keep it at 1 ms.
      settings.retry_budget = std::chrono::milliseconds(std::max<std::uint64_t>(sc.retry_budget_ms, 1));
      settings.stall_timeout = std::chrono::milliseconds(sc.stall_timeout_ms);
      break;
    case storage_backend::azure:
      where.kind = storage::backend_kind::azure;
      where.account = sc.account_name;
      where.container = sc.container_name;
      where.endpoint = sc.endpoint.value_or("");
      settings.azure.account_key = storage::secret_string(sc.account_key.reveal());
      settings.azure.sas_token = storage::secret_string(sc.sas_token.reveal());
      settings.azure.use_workload_identity = sc.use_workload_identity;
      settings.azure.client_id = sc.client_id.value_or("");
      settings.azure.tenant_id = sc.tenant_id.value_or("");
      settings.azure.client_secret = storage::secret_string(sc.client_secret.reveal());
      settings.azure.encryption_scope = sc.encryption_scope.value_or("");
      settings.azure.customer_key = storage::secret_string(sc.customer_provided_key.reveal());
      settings.azure.imds_endpoint = sc.imds_endpoint.value_or("");
      settings.retry_budget = std::chrono::milliseconds(std::max<std::uint64_t>(sc.retry_budget_ms, 1));
      settings.stall_timeout = std::chrono::milliseconds(sc.stall_timeout_ms);
      break;
    case storage_backend::gcs:
      where.kind = storage::backend_kind::gcs;
      where.bucket = sc.bucket;
      where.endpoint = sc.endpoint.value_or("");
      settings.gcs_service_account_path = sc.service_account_path.value_or("");
      settings.gcs_kms_key_name = sc.kms_key_name.value_or("");
      settings.retry_budget = std::chrono::milliseconds(std::max<std::uint64_t>(sc.retry_budget_ms, 1));
      settings.stall_timeout = std::chrono::milliseconds(sc.stall_timeout_ms);
      break;
  }
  where.prefix = sc.prefix;
  return storage::open_store(where, settings, storage::process_environment());
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", b, units[u]);
}

}  // namespace kb::cli
