#include "net/sasl.hpp"

#include "net/oauth_token.hpp"
#include "net/sasl_msk_iam.hpp"
#include "net/sasl_oauthbearer.hpp"
#include "net/sasl_plain.hpp"
#ifdef KB_HAVE_GSSAPI
#include "net/sasl_gssapi.hpp"
#endif
#include "net/scram.hpp"

namespace kb::net {

result<std::unique_ptr<sasl_mechanism>> make_sasl_mechanism(const sasl_credentials& creds) {
  if (creds.mechanism == "PLAIN") {
    auto mech = sasl_plain::create(creds.username, creds.password);
    if (!mech) return fail(mech.error());
    return std::unique_ptr<sasl_mechanism>(std::move(*mech));
  }
  if (creds.mechanism == "SCRAM-SHA-256" || creds.mechanism == "SCRAM-SHA-512") {
    scram_options opts;
    opts.hash = creds.mechanism == "SCRAM-SHA-256" ? scram_hash::sha256 : scram_hash::sha512;
    auto mech = scram_client::create(creds.username, creds.password, std::move(opts));
    if (!mech) return fail(mech.error());
    return std::unique_ptr<sasl_mechanism>(std::move(*mech));
  }
  if (creds.mechanism == "GSSAPI") {
#ifdef KB_HAVE_GSSAPI
    auto mech = sasl_gssapi::create({creds.kerberos_service_name, creds.host, creds.username, creds.keytab_path});
    if (!mech) return fail(mech.error());
    return std::unique_ptr<sasl_mechanism>(std::move(*mech));
#else
    return fail(errc::unsupported,
                "SASL mechanism GSSAPI is not built into this binary (meson -Dgssapi=enabled)");
#endif
  }
  if (creds.mechanism == "OAUTHBEARER") {
    if (!creds.oauth_token) return fail(errc::invalid_argument, "OAUTHBEARER needs a token endpoint or a token file");
    auto token = creds.oauth_token->current();  // cached; fetched again once 80% of its life passed
    if (!token) return fail(token.error());
    auto mech = sasl_oauthbearer::create(std::move(*token));
    if (!mech) return fail(mech.error());
    return std::unique_ptr<sasl_mechanism>(std::move(*mech));
  }
  if (creds.mechanism == "AWS_MSK_IAM") {
    if (!creds.msk_iam || !creds.msk_iam->credentials)
      return fail(errc::invalid_argument, "AWS_MSK_IAM needs an AWS credential source");
    const msk_iam_settings& settings = *creds.msk_iam;
    auto aws = settings.credentials();  // the chain caches and refreshes before expiry
    if (!aws) return fail(aws.error());
    msk_iam_request req;
    req.host = creds.host;
    req.region = settings.region;
    if (req.region.empty()) req.region = msk_iam_region_from_host(creds.host);
    if (req.region.empty()) req.region = settings.default_region;
    req.user_agent = settings.user_agent;
    req.now = std::chrono::system_clock::now();
    auto mech = sasl_msk_iam::create(std::move(req), std::move(*aws));
    if (!mech) return fail(mech.error());
    return std::unique_ptr<sasl_mechanism>(std::move(*mech));
  }
  return fail(errc::unsupported, "unknown SASL mechanism '" + creds.mechanism +
                                     "'; use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI, OAUTHBEARER or AWS_MSK_IAM");
}

}  // namespace kb::net
