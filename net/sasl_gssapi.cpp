#include "net/sasl_gssapi.hpp"

#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <sasl/sasl.h>

namespace kb::net {

namespace {

/// sasl_client_init once per process; Cyrus keeps global plugin state. Never sasl_client_done:
/// other connections may still be authenticating at exit.
int cyrus_init() {
  static std::once_flag once;
  static int rc = SASL_FAIL;
  std::call_once(once, [] { rc = sasl_client_init(nullptr); });
  return rc;
}

std::string gss_status_text(OM_uint32 major, OM_uint32 minor) {
  std::string out;
  auto append = [&out](OM_uint32 code, int type) {
    OM_uint32 ctx = 0;
    for (int i = 0; i < 8; ++i) {  // bounded: a status chain is a handful of messages
      OM_uint32 min2 = 0;
      gss_buffer_desc msg{0, nullptr};
      if (gss_display_status(&min2, code, type, GSS_C_NO_OID, &ctx, &msg) != GSS_S_COMPLETE) break;
      if (!out.empty()) out += "; ";
      out.append(static_cast<const char*>(msg.value), msg.length);
      gss_release_buffer(&min2, &msg);
      if (ctx == 0) break;
    }
  };
  append(major, GSS_C_GSS_CODE);
  if (minor != 0) append(minor, GSS_C_MECH_CODE);
  return out;
}

}  // namespace

struct sasl_gssapi::impl {
  gssapi_options opts;
  sasl_conn_t* conn = nullptr;
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  std::vector<sasl_callback_t> callbacks;
  std::string last_log;  ///< Cyrus's last error/warning line, for the failure message
  enum class stage { initial, stepping, final_sent, done, failed } at = stage::initial;

  ~impl() {
    if (conn != nullptr) sasl_dispose(&conn);
    if (cred != GSS_C_NO_CREDENTIAL) {
      OM_uint32 minor = 0;
      gss_release_cred(&minor, &cred);
    }
  }

  static int on_log(void* context, int level, const char* message) {
    if (level <= SASL_LOG_WARN && message != nullptr) static_cast<impl*>(context)->last_log = message;
    return SASL_OK;
  }
  /// The authorization id: empty, so the broker takes the Kerberos principal as the identity.
  static int on_user(void*, int, const char** result, unsigned* len) {
    *result = "";
    if (len != nullptr) *len = 0;
    return SASL_OK;
  }

  std::string cyrus_error(int rc) const {
    std::string why = conn != nullptr ? sasl_errdetail(conn) : sasl_errstring(rc, nullptr, nullptr);
    if (!last_log.empty() && why.find(last_log) == std::string::npos) why += " (" + last_log + ")";
    return why;
  }

  /// Initiator credentials from the keytab into a per-process memory cache, for the principal
  /// if one is named; or the principal's (else the default) entry in the default cache
  /// collection. Always ours, never the plugin's: Cyrus 2.1.28's GSSAPI plugin does not release
  /// credentials it acquires itself (LeakSanitizer shows it).
  result<void> acquire() {
    OM_uint32 minor = 0;
    gss_name_t name = GSS_C_NO_NAME;
    if (!opts.principal.empty()) {
      gss_buffer_desc buf{opts.principal.size(), opts.principal.data()};
      const OM_uint32 major = gss_import_name(&minor, &buf, GSS_KRB5_NT_PRINCIPAL_NAME, &name);
      if (GSS_ERROR(major))
        return fail(errc::sasl, "cannot parse Kerberos principal: " + gss_status_text(major, minor));
    }
    gss_OID_desc krb5_oid = *gss_mech_krb5;
    gss_OID_set_desc mechs{1, &krb5_oid};
    OM_uint32 major = 0;
    if (!opts.keytab_path.empty()) {
      // One memory cache per process: every connection reuses the TGT obtained from the keytab.
      gss_key_value_element_desc elems[2] = {{"client_keytab", opts.keytab_path.c_str()},
                                             {"ccache", "MEMORY:kafka-backup-gssapi"}};
      gss_key_value_set_desc store{2, elems};
      major = gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE, &store, &cred,
                                    nullptr, nullptr);
    } else {
      major = gss_acquire_cred(&minor, name, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE, &cred, nullptr, nullptr);
    }
    OM_uint32 min2 = 0;
    if (name != GSS_C_NO_NAME) gss_release_name(&min2, &name);
    if (GSS_ERROR(major)) {
      cred = GSS_C_NO_CREDENTIAL;
      if (opts.keytab_path.empty())
        return fail(errc::sasl, fmt::format("no Kerberos credentials in the credential cache: {} (run kinit for the "
                                            "principal, or set sasl_keytab_path)",
                                            gss_status_text(major, minor)));
      return fail(errc::sasl, fmt::format("no Kerberos credentials from keytab {}: {}", opts.keytab_path,
                                          gss_status_text(major, minor)));
    }
    return {};
  }

  result<void> start() {
    if (const int rc = cyrus_init(); rc != SASL_OK)
      return fail(errc::sasl, fmt::format("Cyrus SASL initialisation failed: {}", sasl_errstring(rc, nullptr, nullptr)));
    if (opts.host.empty()) return fail(errc::internal, "GSSAPI needs the broker host for the service principal");
    if (auto ok = acquire(); !ok) return ok;
    // Cyrus stores callbacks as int(*)(void); the detour through void(*)() is the sanctioned
    // "any function" pointer type for -Wcast-function-type.
    auto as_cb = [](auto fn) { return reinterpret_cast<int (*)()>(reinterpret_cast<void (*)()>(fn)); };
    callbacks = {
        {SASL_CB_LOG, as_cb(&impl::on_log), this},
        {SASL_CB_USER, as_cb(&impl::on_user), this},
        {SASL_CB_LIST_END, nullptr, nullptr},
    };
    int rc = sasl_client_new(opts.service_name.c_str(), opts.host.c_str(), nullptr, nullptr, callbacks.data(), 0, &conn);
    if (rc != SASL_OK) return fail(errc::sasl, "sasl_client_new: " + cyrus_error(rc));
    // No integrity or confidentiality layer: Kafka exchanges plain frames after authentication.
    sasl_security_properties_t props{};
    props.min_ssf = 0;
    props.max_ssf = 0;
    props.maxbufsize = 0;
    rc = sasl_setprop(conn, SASL_SEC_PROPS, &props);
    if (rc != SASL_OK) return fail(errc::sasl, "sasl_setprop(SEC_PROPS): " + cyrus_error(rc));
    if (cred != GSS_C_NO_CREDENTIAL) {
      rc = sasl_setprop(conn, SASL_GSS_CREDS, cred);
      if (rc != SASL_OK) return fail(errc::sasl, "sasl_setprop(GSS_CREDS): " + cyrus_error(rc));
    }
    return {};
  }
};

sasl_gssapi::sasl_gssapi(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
sasl_gssapi::~sasl_gssapi() = default;

result<std::unique_ptr<sasl_gssapi>> sasl_gssapi::create(gssapi_options opts) {
  if (opts.service_name.empty()) return fail(errc::invalid_argument, "sasl_kerberos_service_name is empty");
  auto p = std::make_unique<impl>();
  p->opts = std::move(opts);
  return std::unique_ptr<sasl_gssapi>(new sasl_gssapi(std::move(p)));
}

result<sasl_step> sasl_gssapi::step(byte_view challenge) {
  auto& s = *impl_;
  const char* out = nullptr;
  unsigned out_len = 0;
  int rc = SASL_FAIL;
  switch (s.at) {
    case impl::stage::initial: {
      if (auto ok = s.start(); !ok) {
        s.at = impl::stage::failed;
        return fail(std::move(ok.error()));
      }
      const char* chosen = nullptr;
      sasl_interact_t* interact = nullptr;
      rc = sasl_client_start(s.conn, "GSSAPI", &interact, &out, &out_len, &chosen);
      break;
    }
    case impl::stage::stepping: {
      sasl_interact_t* interact = nullptr;
      rc = sasl_client_step(s.conn, reinterpret_cast<const char*>(challenge.data()),
                            static_cast<unsigned>(challenge.size()), &interact, &out, &out_len);
      break;
    }
    case impl::stage::final_sent:
      // The broker's (empty) reply to our security-layer message: authenticated.
      s.at = impl::stage::done;
      return sasl_step{sasl_status::done, {}};
    case impl::stage::done:
    case impl::stage::failed:
      return fail(errc::sasl, "GSSAPI exchange already finished");
  }
  if (rc != SASL_OK && rc != SASL_CONTINUE) {
    s.at = impl::stage::failed;
    return fail(errc::sasl, "GSSAPI: " + s.cyrus_error(rc));
  }
  sasl_step next;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(out);
  if (out != nullptr) next.response.assign(bytes, bytes + out_len);
  if (rc == SASL_CONTINUE) {
    s.at = impl::stage::stepping;
  } else if (s.at == impl::stage::initial) {
    s.at = impl::stage::failed;  // GSSAPI never completes in one message
    return fail(errc::sasl, "GSSAPI: the exchange completed before the server answered");
  } else {
    // Complete on our side; the broker still needs our last message (the RFC 4752 layer choice).
    s.at = impl::stage::final_sent;
  }
  return next;
}

}  // namespace kb::net
