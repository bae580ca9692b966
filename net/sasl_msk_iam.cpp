#include "net/sasl_msk_iam.hpp"

#include <array>
#include <cctype>
#include <ctime>
#include <utility>

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace kb::net {
namespace {

constexpr std::string_view k_version = "2020_10_22";
constexpr std::string_view k_service = "kafka-cluster";
constexpr std::string_view k_action = "kafka-cluster:Connect";
constexpr std::string_view k_expires = "900";  // the library presigns for 15 minutes
// SHA-256 of the empty body: the SDK's Aws4Signer (not the S3 one) signs a GET's empty payload.
constexpr std::string_view k_empty_payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xf];
  }
  return out;
}

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha256(), nullptr);
  return hex(md.data(), len);
}

std::array<unsigned char, 32> hmac(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  return out;
}

std::string_view as_view(const std::array<unsigned char, 32>& a) {
  return {reinterpret_cast<const char*>(a.data()), a.size()};
}

// RFC 3986 unreserved characters kept, everything else %XX (SigV4's query encoding).
std::string uri_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  }
  return out;
}

// JSON string as Jackson writes it: '"' and '\\' escaped, control characters as escapes, '/' kept.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += digits[c >> 4];
          out += digits[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

std::string amz_date(std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 20> buf{};
  std::strftime(buf.data(), buf.size(), "%Y%m%dT%H%M%SZ", &tm);
  return buf.data();
}

bool is_region_label(std::string_view label) {
  // "us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1": letters-...-digits, 2+ dashes.
  std::size_t dashes = 0;
  for (char c : label) {
    if (c == '-') ++dashes;
    else if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  const auto last_dash = label.rfind('-');
  if (dashes < 2 || last_dash == std::string_view::npos || last_dash + 1 >= label.size()) return false;
  for (char c : label.substr(last_dash + 1))
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return std::isalpha(static_cast<unsigned char>(label.front())) != 0;
}

}  // namespace

std::string msk_iam_region_from_host(std::string_view host) {
  // MSK names end in ".kafka.REGION.amazonaws.com" (or ".kafka-serverless.REGION...", ".com.cn").
  const auto at = host.find(".amazonaws.com");
  if (at == std::string_view::npos) return {};
  const std::string_view head = host.substr(0, at);
  const auto dot = head.rfind('.');
  const std::string_view label = dot == std::string_view::npos ? head : head.substr(dot + 1);
  return is_region_label(label) ? std::string(label) : std::string();
}

std::string msk_iam_payload(const msk_iam_request& request, const msk_iam_credentials& credentials) {
  const std::string date_time = amz_date(request.now);
  const std::string date = date_time.substr(0, 8);
  const std::string scope = date + "/" + request.region + "/" + std::string(k_service) + "/aws4_request";
  const std::string credential = credentials.access_key_id + "/" + scope;
  const std::string_view token = credentials.session_token.reveal();

  // Presigned query, sorted by encoded name; the session token is part of what is signed.
  std::string query = "Action=" + uri_encode(k_action) + "&X-Amz-Algorithm=AWS4-HMAC-SHA256" +
                      "&X-Amz-Credential=" + uri_encode(credential) + "&X-Amz-Date=" + date_time +
                      "&X-Amz-Expires=" + std::string(k_expires);
  if (!token.empty()) query += "&X-Amz-Security-Token=" + uri_encode(token);
  query += "&X-Amz-SignedHeaders=host";

  const std::string canonical_request = "GET\n/\n" + query + "\nhost:" + request.host + "\n\nhost\n" +
                                        std::string(k_empty_payload_hash);
  const std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + date_time + "\n" + scope + "\n" + sha256_hex(canonical_request);
  std::string k_secret = "AWS4" + std::string(credentials.secret_access_key.reveal());
  auto key = hmac(k_secret, date);
  std::fill(k_secret.begin(), k_secret.end(), '\0');
  key = hmac(as_view(key), request.region);
  key = hmac(as_view(key), k_service);
  key = hmac(as_view(key), "aws4_request");
  const auto sig = hmac(as_view(key), string_to_sign);
  key.fill(0);
  const std::string signature = hex(sig.data(), sig.size());

  // The order of AWS's library (a Java HashMap of these keys), so equal inputs give equal bytes.
  std::string out = "{";
  auto field = [&out](std::string_view name, std::string_view value) {
    if (out.size() > 1) out += ',';
    append_json_string(out, name);
    out += ':';
    append_json_string(out, value);
  };
  field("x-amz-date", date_time);
  field("x-amz-signedheaders", "host");
  field("x-amz-signature", signature);
  field("host", request.host);
  field("action", k_action);
  field("x-amz-expires", k_expires);
  if (!token.empty()) field("x-amz-security-token", token);
  field("version", k_version);
  field("x-amz-algorithm", "AWS4-HMAC-SHA256");
  field("x-amz-credential", credential);
  field("user-agent", request.user_agent);
  out += '}';
  return out;
}

result<std::unique_ptr<sasl_msk_iam>> sasl_msk_iam::create(msk_iam_request request, msk_iam_credentials credentials) {
  if (request.host.empty()) return fail(errc::invalid_argument, "AWS_MSK_IAM needs the broker host name to sign");
  if (request.region.empty())
    return fail(errc::invalid_argument,
                "AWS_MSK_IAM: no AWS region for broker host '" + request.host +
                    "' (the host name carries none); set security.sasl_aws_region or AWS_REGION");
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty())
    return fail(errc::invalid_argument, "AWS_MSK_IAM: the AWS credentials have no access key id or secret key");
  return std::unique_ptr<sasl_msk_iam>(new sasl_msk_iam(std::move(request), std::move(credentials)));
}

result<sasl_step> sasl_msk_iam::step(byte_view challenge) {
  if (round_ == 0) {
    ++round_;
    if (!challenge.empty()) return fail(errc::sasl, "AWS_MSK_IAM: the server spoke before the client message");
    const std::string payload = msk_iam_payload(request_, credentials_);
    sasl_step s;
    const byte_view bytes = as_bytes(payload);
    s.response.assign(bytes.begin(), bytes.end());
    return s;
  }
  if (round_ > 1) return fail(errc::sasl, "AWS_MSK_IAM: unexpected server message after the exchange completed");
  ++round_;
  if (challenge.empty()) return fail(errc::sasl, "AWS_MSK_IAM: the broker's authentication response is empty");
  boost::system::error_code ec;
  const auto v = boost::json::parse(
as_text(challenge), ec);
  const boost::json::object* o = !ec && v.is_object() ? &v.as_object() : nullptr;
  const boost::json::value* version = o ? o->if_contains("version") : nullptr;
  const boost::json::value* request_id = o ? o->if_contains("request-id") : nullptr;
  if (!version || !version->is_string() || !request_id || !request_id->is_string())
    return fail(errc::sasl, "AWS_MSK_IAM: the broker's authentication response is not the expected JSON "
                            "(version, request-id)");
  if (version->as_string() != k_version)
    return fail(errc::sasl, "AWS_MSK_IAM: the broker answered with version '" +
                                std::string(version->as_string()) + "', expected " + std::string(k_version));
  sasl_step s;
  s.status = sasl_status::done;
  return s;
}

std::string sasl_msk_iam::failure_detail(std::string_view broker_message) const {
  (void)broker_message;
  return "check that the IAM identity is allowed kafka-cluster:Connect on this cluster, that region " + request_.region +
         " is the cluster's, and that the system clock is right (the signature is valid for 15 minutes)";
}

}  // namespace kb::net
