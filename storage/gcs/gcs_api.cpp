#include "storage/gcs/gcs_api.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "base/log.hpp"
#include "storage/gcs/gcs_json.hpp"
#include "storage/http_retry.hpp"

namespace kb::storage::gcs {

namespace json = boost::json;

api_error parse_api_error(std::string_view body) {
  api_error out;
  boost::system::error_code ec;
  const auto doc = json::parse(body, ec);
  if (ec || !doc.is_object()) {
    out.message = std::string(body.substr(0, 200));
    while (!out.message.empty() && (out.message.back() == '\n' || out.message.back() == '\r')) out.message.pop_back();
    return out;
  }
  const auto* e = doc.as_object().if_contains("error");
  if (e == nullptr || !e->is_object()) return out;
  out.message = string_member(e->as_object(), "message");
  if (const auto* errs = e->as_object().if_contains("errors"); errs && errs->is_array() && !errs->as_array().empty()) {
    const auto& first = errs->as_array().front();
    if (first.is_object()) out.reason = string_member(first.as_object(), "reason");
  }
  return out;
}

gcs_api::gcs_api(gcs_options options) : options_(std::move(options)) {
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/') options_.endpoint.pop_back();
  if (!options_.http) {
    options_.http = send_through(std::make_shared<http_transport>(
        http_transport_options{options_.connect_timeout, options_.stall_timeout, options_.ca_file}));
  }
}

std::string gcs_api::describe() const { return fmt::format("gs://{}/{}", options_.bucket, options_.prefix); }

std::string gcs_api::object_text(std::string_view key) const {
  return key.empty() ? describe() : fmt::format("'{}' in {}", key, describe());
}

kb::error gcs_api::to_error(const http_response_data& r, const call& c) const {
  const std::string object = object_text(c.key);
  if (r.failure != http_failure::none) {
    return http_failure_error(r, fmt::format("{} {}", c.method, object), fmt::format("GCS endpoint {}", options_.endpoint),
                              "storage.endpoint / STORAGE_EMULATOR_HOST", options_.stall_timeout);
  }
  const api_error body = parse_api_error(r.body);
  const std::string detail = body.message.empty() ? fmt::format("HTTP {}", r.status)
                                                  : fmt::format("HTTP {}: {}", r.status, body.message);
  const std::string source = options_.tokens ? options_.tokens->source() : std::string("no credentials");
  if (r.status == 401) {
    return {make_error_code(errc::authorization),
            fmt::format("GCS refused the access token for {} {} (credentials from {}): {}; the token is invalid "
                        "or expired: check the service account key (storage.service_account_path / "
                        "GOOGLE_APPLICATION_CREDENTIALS) or the workload identity binding",
                        c.method, object, source, detail)};
  }
  if (r.status == 403) {
    return {make_error_code(errc::authorization),
            fmt::format("GCS refused {} {} (credentials from {}): {}; grant the service account "
                        "roles/storage.objectAdmin on bucket {} (or storage.objects.create/get/list/delete)",
                        c.method, object, source, detail, options_.bucket)};
  }
  if (r.status == 404) {
    const bool bucket_missing = c.bucket_level || body.message.find("bucket") != std::string::npos ||
                                body.message.find("Bucket") != std::string::npos;
    if (bucket_missing) {
      return {make_error_code(errc::config),
              fmt::format("storage.bucket: GCS bucket '{}' does not exist at {}: create it (gcloud storage "
                          "buckets create gs://{}) or fix storage.bucket / the gs:// URL",
                          options_.bucket, options_.endpoint, options_.bucket)};
    }
    return {make_error_code(errc::not_found), fmt::format("object {} not found", object)};
  }
  if (r.status == 412 || r.status == 409) {
    return {make_error_code(errc::conflict),
            fmt::format("{} {}: a precondition failed ({}); the object already exists or changed", c.method,
                        object, detail)};
  }
  if (r.status == 416) {
    return {make_error_code(errc::invalid_argument),
            fmt::format("{} {}: the range is past the end of the object ({})", c.method, object, detail)};
  }
  if (r.status == 400 && (body.reason == "invalid" || body.message.find("crc32c") != std::string::npos ||
                          body.message.find("hash") != std::string::npos)) {
    return {make_error_code(errc::io),
            fmt::format("GCS rejected {} {}: {}; if it names the checksum, the data was damaged on the way",
                        c.method, object, detail)};
  }
  return {make_error_code(errc::io), fmt::format("{} {} failed: {}", c.method, object, detail)};
}

result<http_response_data> gcs_api::execute(const call& c) {
  const std::string object = object_text(c.key);
  bool refreshed = false;
  int attempt = 0;
  auto send_once = [&]() -> result<http_response_data> {
    http_request req{c.method, c.url, c.headers, c.body, c.download};
    if (options_.tokens) {
      auto auth = options_.tokens->authorization();
      if (!auth) return tl::unexpected(auth.error());
      if (*auth) req.headers.emplace_back("Authorization", std::move(**auth));
    }
    log::debug("gcs: {} {} (attempt {})", c.method, c.url, ++attempt);
    return options_.http(req);
  };
  retrying_request r{"gcs", c.method, object,
                     retry_settings{options_.initial_backoff, options_.max_backoff, options_.retry_budget,
                                    options_.max_attempts}};
  r.send = [&]() -> result<http_response_data> {
    auto resp = send_once();
    if (resp && resp->failure == http_failure::none && resp->status == 401 && !refreshed && options_.tokens) {
      // The token may have been revoked or rotated early: one more try with a fresh one.
      refreshed = true;
      options_.tokens->invalidate();
      return send_once();
    }
    return resp;
  };
  r.accept = [&](const http_response_data& resp) {
    return resp.ok() || (c.accept_308 && resp.failure == http_failure::none && resp.status == 308);
  };
  r.to_error = [&](const http_response_data& resp) { return to_error(resp, c); };
  return send_with_retries(r);
}

}  // namespace kb::storage::gcs
