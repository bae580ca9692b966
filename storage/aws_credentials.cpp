#include "storage/aws_credentials.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "storage/aws_sts.hpp"
#include "storage/http_transport.hpp"
#include "storage/utc_time.hpp"

namespace kb::storage {
namespace {

using clock_type = std::chrono::system_clock;

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::string> non_empty(const env_lookup& env, std::string_view name) {
  auto v = env(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// What one source produced: credentials, "not configured here" (skipped), or a failure.
struct attempt {
  std::optional<timed_credentials> got;
  bool configured = false;
  bool config_error = false;  ///< a half-set pair: a mistake to report, not a reason to look further
  std::string why;  ///< the reason it gave nothing; never a secret
  credential_provider::fetch_fn refetch;
};

attempt skipped(std::string why) {
  attempt a;
  a.why = std::move(why);
  return a;
}

attempt fixed(timed_credentials t) {
  attempt a;
  a.configured = true;
  a.got = std::move(t);
  return a;
}

attempt from_fetch(credential_provider::fetch_fn fetch) {
  attempt a;
  a.configured = true;
  auto got = fetch();
  if (got) {
    a.got = std::move(*got);
    a.refetch = std::move(fetch);
  } else {
    a.why = got.error().message;
  }
  return a;
}

attempt static_source(const credential_settings& s) {
  if (s.access_key.empty() && s.secret_key.empty()) {
    return skipped("storage.access_key and storage.secret_key are not set");
  }
  if (s.access_key.empty() || s.secret_key.empty()) {
    attempt a = skipped("only one of storage.access_key and storage.secret_key is set; set both or neither");
    a.config_error = true;
    return a;
  }
  timed_credentials t;
  t.credentials.access_key_id = s.access_key;
  t.credentials.secret_access_key = s.secret_key;
  t.credentials.session_token = s.session_token;
  return fixed(std::move(t));
}

attempt env_source(const env_lookup& env) {
  auto id = non_empty(env, "AWS_ACCESS_KEY_ID");
  auto secret = non_empty(env, "AWS_SECRET_ACCESS_KEY");
  if (!id && !secret) return skipped("AWS_ACCESS_KEY_ID is not set");
  if (!id || !secret) {
    attempt a = skipped(fmt::format("{} is not set (the other one is); export both or neither",
                                    !id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY"));
    a.config_error = true;
    return a;
  }
  timed_credentials t;
  t.credentials.access_key_id = std::move(*id);
  t.credentials.secret_access_key = secret_string(std::move(*secret));
  if (auto token = non_empty(env, "AWS_SESSION_TOKEN")) t.credentials.session_token = secret_string(std::move(*token));
  return fixed(std::move(t));
}

/// Runs `command` through /bin/sh as the AWS CLI does on Linux; its stdout is the JSON.
result<timed_credentials> run_credential_process(const std::string& command, const std::string& profile) {
  const std::string what = fmt::format("credential_process of profile '{}'", profile);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return fail(errc::authorization, fmt::format("{}: cannot start it", what));
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0 && out.size() < (1u << 20)) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail(errc::authorization,
                fmt::format("{} failed (exit status {}); run it by hand to see why", what,
                            status == -1 ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status))));
  }
  return parse_credentials_json(out, what);
}

std::string describe_reply(const http_reply& r);

/// The STS session name: AWS_ROLE_SESSION_NAME, else one naming this tool and the time.
std::string session_name(const env_lookup& env) {
  if (auto v = non_empty(env, "AWS_ROLE_SESSION_NAME")) return *v;
  return fmt::format("kafka-backup-{}", std::chrono::duration_cast<std::chrono::seconds>(
                                            clock_type::now().time_since_epoch()).count());
}

/// AssumeRoleWithWebIdentity with the token read from `token_file` now (EKS rotates it).
result<timed_credentials> assume_role_with_web_identity(const std::string& endpoint, const std::string& role_arn,
                                                        const std::string& token_file, const std::string& session,
                                                        const http_client& http) {
  auto text = read_text_file(token_file);
  if (!text) {
    return fail(errc::authorization, fmt::format("cannot read the web identity token file {}", token_file));
  }
  const secret_string token(trim(*text));
  if (token.empty()) return fail(errc::authorization, fmt::format("the web identity token file {} is empty", token_file));
  return sts_assume_role_with_web_identity(endpoint, role_arn, session, token, http);
}

/// The shared credentials and config files, read once per resolution.
struct shared_files {
  std::string cred_path;
  std::string config_path;
  ini_sections creds;
  ini_sections config;

  /// The merged keys of `profile` (the credentials file wins), or nullopt when neither has it.
  [[nodiscard]] std::optional<std::map<std::string, std::string>> profile(const std::string& name) const {
    std::map<std::string, std::string> keys;
    bool found = false;
    if (auto it = creds.find(name); it != creds.end()) {
      keys = it->second;
      found = true;
    }
    auto it = config.find(name == "default" ? std::string("default") : "profile " + name);
    if (it == config.end() && name == "default") it = config.find("profile default");
    if (it != config.end()) {
      found = true;
      for (const auto& [k, v] : it->second) keys.emplace(k, v);
    }
    if (!found) return std::nullopt;
    return keys;
  }
};

shared_files load_shared_files(const env_lookup& env) {
  shared_files f;
  const std::string home = non_empty(env, "HOME").value_or("");
  f.cred_path = non_empty(env, "AWS_SHARED_CREDENTIALS_FILE").value_or(home.empty() ? "" : home + "/.aws/credentials");
  f.config_path = non_empty(env, "AWS_CONFIG_FILE").value_or(home.empty() ? "" : home + "/.aws/config");
  if (auto text = f.cred_path.empty() ? std::nullopt : read_text_file(f.cred_path)) f.creds = parse_ini(*text);
  if (auto text = f.config_path.empty() ? std::nullopt : read_text_file(f.config_path)) f.config = parse_ini(*text);
  return f;
}

std::optional<timed_credentials> static_keys(const std::map<std::string, std::string>& keys) {
  const auto id = keys.find("aws_access_key_id");
  const auto secret = keys.find("aws_secret_access_key");
  if (id == keys.end() || secret == keys.end() || id->second.empty() || secret->second.empty()) return std::nullopt;
  timed_credentials t;
  t.credentials.access_key_id = id->second;
  t.credentials.secret_access_key = secret_string(secret->second);
  if (auto tok = keys.find("aws_session_token"); tok != keys.end()) t.credentials.session_token = secret_string(tok->second);
  return t;
}

struct profile_context {
  shared_files files;
  credential_settings settings;
  env_lookup env;
  http_client http;
};

/// The credentials of profile `name`: its keys, credential_process, or role_arn assumed with
/// source_profile's credentials (a chain of at most 5 profiles) or web_identity_token_file.
result<timed_credentials> profile_credentials(const profile_context& ctx, const std::string& name, int depth) {
  auto keys = ctx.files.profile(name);
  if (!keys) return fail(errc::authorization, fmt::format("source_profile '{}' is not in the shared files", name));
  auto get = [&](const char* k) -> std::string {
    auto it = keys->find(k);
    return it == keys->end() ? std::string() : it->second;
  };
  const std::string role_arn = get("role_arn");
  if (!role_arn.empty() && depth < 5) {
    const std::string region = get("region").empty() ? ctx.settings.region : get("region");
    const std::string endpoint = sts_endpoint(ctx.settings.sts_endpoint, region, ctx.env);
    const std::string session = get("role_session_name").empty() ? session_name(ctx.env) : get("role_session_name");
    if (const std::string source = get("source_profile"); !source.empty()) {
      // A profile naming itself as source uses its own static keys (as the AWS CLI does).
      auto src = source == name ? (static_keys(*keys) ? result<timed_credentials>(*static_keys(*keys))
                                                      : fail(errc::authorization,
                                                             fmt::format("profile '{}' is its own source_profile but has "
                                                                         "no aws_access_key_id/aws_secret_access_key",
                                                                         name)))
                                : profile_credentials(ctx, source, depth + 1);
      if (!src) {
        return fail(errc::authorization, fmt::format("profile '{}' (role_arn {}): source_profile '{}': {}", name, role_arn,
                                                     source, src.error().message));
      }
      return sts_assume_role(endpoint, region.empty() ? "us-east-1" : region, role_arn, src->credentials, session, ctx.http);
    }
    if (const std::string file = get("web_identity_token_file"); !file.empty()) {
      return assume_role_with_web_identity(endpoint, role_arn, file, session, ctx.http);
    }
    return fail(errc::authorization,
                fmt::format("profile '{}' has role_arn but neither source_profile nor web_identity_token_file "
                            "(credential_source is not supported; use source_profile)",
                            name));
  }
  if (!role_arn.empty()) return fail(errc::authorization, "role_arn/source_profile chain is longer than 5 profiles");
  if (auto t = static_keys(*keys)) return std::move(*t);
  if (const std::string proc = get("credential_process"); !proc.empty()) return run_credential_process(proc, name);
  return fail(errc::authorization,
              fmt::format("profile '{}' has neither aws_access_key_id/aws_secret_access_key, credential_process nor "
                          "role_arn",
                          name));
}

attempt profile_source(const credential_settings& s, const env_lookup& env, const http_client& http) {
  const std::string profile = non_empty(env, "AWS_PROFILE").value_or("default");
  auto ctx = std::make_shared<profile_context>(profile_context{load_shared_files(env), s, env, http});
  const auto keys = ctx->files.profile(profile);
  if (!keys) {
    return skipped(fmt::format("no profile '{}' in {} or {}", profile,
                               ctx->files.cred_path.empty() ? "~/.aws/credentials" : ctx->files.cred_path,
                               ctx->files.config_path.empty() ? "~/.aws/config" : ctx->files.config_path));
  }
  // Static keys in a profile without role_arn never change; everything else is fetched again
  // before it expires.
  if (keys->count("role_arn") == 0) {
    if (auto t = static_keys(*keys)) return fixed(std::move(*t));
  }
  return from_fetch([ctx, profile] { return profile_credentials(*ctx, profile, 0); });
}

attempt web_identity_source(const credential_settings& s, const env_lookup& env, const http_client& http) {
  auto role = non_empty(env, "AWS_ROLE_ARN");
  auto file = non_empty(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!role && !file) return skipped("AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not set");
  if (!role || !file) {
    attempt a = skipped(fmt::format("{} is not set (the other one is); set both for web identity",
                                    !role ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE"));
    a.config_error = true;
    return a;
  }
  const std::string endpoint = sts_endpoint(s.sts_endpoint, s.region, env);
  const std::string session = session_name(env);
  return from_fetch([endpoint, role = *role, file = *file, session, http] {
    return assume_role_with_web_identity(endpoint, role, file, session, http);
  });
}

std::string describe_reply(const http_reply& r) {
  if (!r.transport_error.empty()) return r.transport_error;
  return fmt::format("HTTP {}", r.status);
}

attempt container_source(const env_lookup& env, const http_client& http) {
  std::string url;
  if (auto full = non_empty(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    url = *full;
  } else if (auto rel = non_empty(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    url = "http://169.254.170.2" + *rel;
  } else {
    return skipped("AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_CREDENTIALS_RELATIVE_URI are not set");
  }
  const std::optional<std::string> token_file = non_empty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  const std::optional<std::string> token = non_empty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  return from_fetch([url, token_file, token, http]() -> result<timed_credentials> {
    http_exchange ex{"GET", url, {}, {}};
    if (token_file) {
      auto text = read_text_file(*token_file);
      if (!text) {
        return fail(errc::authorization,
                    fmt::format("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}", *token_file));
      }
      ex.headers.emplace_back("Authorization", trim(*text));
    } else if (token) {
      ex.headers.emplace_back("Authorization", *token);
    }
    const http_reply r = http(ex);
    if (!r.transport_error.empty() || r.status != 200) {
      return fail(errc::authorization, fmt::format("container credentials endpoint {} answered {}", url, describe_reply(r)));
    }
    return parse_credentials_json(r.body, fmt::format("container credentials from {}", url));
  });
}

result<timed_credentials> fetch_imds(const std::string& endpoint, bool allow_v1, const http_client& http) {
  const std::string base = endpoint.ends_with('/') ? endpoint.substr(0, endpoint.size() - 1) : endpoint;
  const http_reply tok = http({"PUT", base + "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}, {}});
  std::vector<std::pair<std::string, std::string>> auth;
  if (tok.transport_error.empty() && tok.status == 200) {
    auth.emplace_back("X-aws-ec2-metadata-token", trim(tok.body));
  } else if (!allow_v1 || !tok.transport_error.empty()) {
    // Without a token this would be IMDSv1, which SSRF can reach: only when asked for.
    return fail(errc::authorization,
                fmt::format("IMDSv2 token request to {} answered {}{}", base, describe_reply(tok),
                            tok.transport_error.empty() ? " (IMDSv1 is off; storage.imds_v1: true allows it)" : ""));
  } else {
    log::warn("s3: IMDSv2 token request to {} answered {}; using IMDSv1 (storage.imds_v1 is on)", base,
              describe_reply(tok));
  }
  const std::string list_url = base + "/latest/meta-data/iam/security-credentials/";
  const http_reply role = http({"GET", list_url, auth, {}});
  if (!role.transport_error.empty() || role.status != 200) {
    return fail(errc::authorization,
                fmt::format("IMDS {} answered {}; does the instance have an IAM role attached?", list_url, describe_reply(role)));
  }
  std::string role_name = trim(role.body);
  if (auto nl = role_name.find('\n'); nl != std::string::npos) role_name = trim(role_name.substr(0, nl));
  if (role_name.empty()) {
    return fail(errc::authorization, fmt::format("IMDS at {} lists no IAM role: attach an instance profile", base));
  }
  const http_reply creds = http({"GET", list_url + role_name, auth, {}});
  if (!creds.transport_error.empty() || creds.status != 200) {
    return fail(errc::authorization,
                fmt::format("IMDS credentials of role '{}' at {} answered {}", role_name, base, describe_reply(creds)));
  }
  return parse_credentials_json(creds.body, fmt::format("IMDS credentials of role '{}'", role_name));
}

attempt imds_source(const credential_settings& s, const env_lookup& env, const http_client& http) {
  if (auto off = non_empty(env, "AWS_EC2_METADATA_DISABLED"); off && (*off == "true" || *off == "TRUE" || *off == "1")) {
    return skipped("AWS_EC2_METADATA_DISABLED is set");
  }
  std::string endpoint = s.imds_endpoint;
  if (endpoint.empty()) endpoint = non_empty(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
  const bool allow_v1 = s.imds_v1;
  return from_fetch([endpoint, allow_v1, http] { return fetch_imds(endpoint, allow_v1, http); });
}

}  // namespace

http_client curl_http_client(std::chrono::milliseconds timeout) {
  auto transport = std::make_shared<http_transport>(http_transport_options{timeout, timeout, {}});
  return [transport, timeout](const http_exchange& ex) {
    http_request req{ex.method, ex.url, ex.headers, {}};
    if (!ex.body.empty()) req.body.push_back(as_bytes(ex.body));
    req.total_timeout = timeout;
    const http_response_data r = transport->perform(req);
    http_reply reply;
    if (r.failure != http_failure::none) {
      reply.transport_error = r.failure_text;
    } else {
      reply.status = r.status;
      reply.body = r.body.substr(0, 1u << 20);  // identity answers are small
    }
    return reply;
  };
}

ini_sections parse_ini(std::string_view text) {
  ini_sections out;
  std::string section;
  bool in_section = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      const auto close = line.find(']');
      if (close == std::string::npos) {
        in_section = false;
        continue;
      }
      section = trim(std::string_view(line).substr(1, close - 1));
      in_section = true;
      out[section];
      continue;
    }
    const auto eq = line.find('=');
    if (!in_section || eq == std::string::npos) continue;
    std::string key = trim(std::string_view(line).substr(0, eq));
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out[section][key] = trim(std::string_view(line).substr(eq + 1));
  }
  return out;
}

result<clock_type::time_point> parse_iso8601(std::string_view text) {
  if (auto at = parse_iso8601_utc(text)) return *at;
  return fail(errc::invalid_argument,
              fmt::format("'{}' is not a UTC ISO 8601 time from {} to {} (YYYY-MM-DDThh:mm:ss[.fff]Z)", text,
                          earliest_server_year, latest_server_year));
}

result<timed_credentials> parse_credentials_json(std::string_view json, std::string_view what) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return fail(errc::authorization, fmt::format("{}: the answer is not a JSON object", what));
  const auto& o = v.as_object();
  auto field = [&](std::string_view name) -> std::optional<std::string> {
    const auto* f = o.if_contains(name);
    if (f == nullptr || !f->is_string()) return std::nullopt;
    return std::string(f->as_string());
  };
  if (auto code = field("Code"); code && *code != "Success") {
    return fail(errc::authorization, fmt::format("{}: Code is '{}', not Success", what, *code));
  }
  auto id = field("AccessKeyId");
  auto secret = field("SecretAccessKey");
  if (!id || id->empty() || !secret || secret->empty()) {
    return fail(errc::authorization, fmt::format("{}: AccessKeyId or SecretAccessKey is missing", what));
  }
  timed_credentials t;
  t.credentials.access_key_id = std::move(*id);
  t.credentials.secret_access_key = secret_string(std::move(*secret));
  if (auto tok = field("Token")) {
    t.credentials.session_token = secret_string(std::move(*tok));
  } else if (auto st = field("SessionToken")) {
    t.credentials.session_token = secret_string(std::move(*st));
  }
  if (auto exp = field("Expiration"); exp && !exp->empty()) {
    auto when = parse_iso8601(*exp);
    if (!when) return fail(errc::authorization, fmt::format("{}: Expiration: {}", what, when.error().message));
    t.expiration = *when;
  }
  return t;
}

clock_type::time_point refresh_time(clock_type::time_point fetched, clock_type::time_point expiration) {
  const auto life = expiration - fetched;
  const auto margin = std::min<clock_type::duration>(std::chrono::minutes(5), life / 2);
  return expiration - margin;
}

credential_provider::credential_provider(std::string source, fetch_fn fetch, timed_credentials first, wall_clock clock)
    : source_(std::move(source)), fetch_(std::move(fetch)), clock_(std::move(clock)), held_(std::move(first)) {
  if (!clock_) clock_ = [] { return clock_type::now(); };
  if (held_.expiration && fetch_) refresh_at_ = refresh_time(clock_(), *held_.expiration);
}

std::string masked_key_id(std::string_view id) {
  return id.size() > 8 ? "****" + std::string(id.substr(id.size() - 4)) : std::string("****");
}

std::string credential_provider::access_key_id() {
  std::lock_guard lock(mutex_);
  return masked_key_id(held_.credentials.access_key_id);
}

result<aws_credentials> credential_provider::current() {
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  if (refresh_at_ && now >= *refresh_at_) {
    auto fresh = fetch_();
    if (fresh) {
      held_ = std::move(*fresh);
      refresh_at_ = held_.expiration ? std::optional(refresh_time(now, *held_.expiration)) : std::nullopt;
      log::info("s3: refreshed temporary credentials from {} (access key {})", source_,
                masked_key_id(held_.credentials.access_key_id));
    } else if (held_.expiration && now >= *held_.expiration) {
      return fail(errc::authorization, fmt::format("the {} credentials expired and refreshing them failed: {}", source_,
                                                   fresh.error().message));
    } else {
      log::warn("s3: refreshing the {} credentials failed ({}); the current ones are still valid, retrying later",
                source_, fresh.error().message);
      refresh_at_ = now + std::chrono::seconds(10);
    }
  }
  return held_.credentials;
}

result<std::shared_ptr<credential_provider>> resolve_credentials(const credential_settings& settings,
                                                                 const env_lookup& env, http_client http,
                                                                 wall_clock clock) {
  const std::string& pin = settings.source;
  static constexpr std::array<std::string_view, 7> known{"auto",         "static",    "env", "profile",
                                                         "web_identity", "container", "imds"};
  if (std::find(known.begin(), known.end(), pin) == known.end()) {
    return fail(errc::config,
                fmt::format("storage.credentials: '{}' is not a credential source; use one of {}", pin, credential_source_names));
  }
  if (!http) http = curl_http_client(std::chrono::milliseconds(pin == "auto" ? 2000 : 10000));
  std::vector<std::string> tried;
  bool any_configured = false;
  bool half_set = false;
  auto take = [&](std::string_view name, attempt a) -> std::shared_ptr<credential_provider> {
    if (a.got) {
      log::info("{}: using credentials from {} (access key {}{})", settings.user, name,
                masked_key_id(a.got->credentials.access_key_id),
                a.got->expiration ? ", temporary" : "");
      return std::make_shared<credential_provider>(std::string(name), std::move(a.refetch), std::move(*a.got), clock);
    }
    any_configured = any_configured || a.configured;
    tried.push_back(fmt::format("{}: {}", name, a.why));
    if (a.config_error) half_set = true;
    return nullptr;
  };
  struct step {
    std::string_view name;
    std::function<attempt()> run;
  };
  const std::array<step, 6> chain{{
      {"static", [&] { return static_source(settings); }},
      {"env", [&] { return env_source(env); }},
      {"profile", [&] { return profile_source(settings, env, http); }},
      {"web_identity", [&] { return web_identity_source(settings, env, http); }},
      {"container", [&] { return container_source(env, http); }},
      {"imds", [&] { return imds_source(settings, env, http); }},
  }};
  for (const auto& s : chain) {
    if (pin != "auto" && pin != s.name) continue;
    if (s.name == "static" && settings.user != "s3") continue;  // storage.access_key is S3's alone
    if (auto p = take(s.name, s.run())) return p;
    if (half_set) return fail(errc::config, fmt::format("S3 credentials: {}", tried.back()));
  }
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : "; ") + t;
  const bool s3 = settings.user == "s3";
  return fail(any_configured ? errc::authorization : errc::config,
              fmt::format("no {} credentials ({} tried: {}); {}export "
                          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, set AWS_PROFILE, or run with an IAM role "
                          "(web identity, container or EC2 instance metadata)",
                          s3 ? "S3" : "AWS", pin == "auto" ? "sources" : "source", list,
                          s3 ? "set storage.access_key and storage.secret_key, " : ""));
}

}  // namespace kb::storage
