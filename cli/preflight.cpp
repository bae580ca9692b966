#include "cli/preflight.hpp"

#include <fmt/format.h>

#include "pipeline/backup/topic_selection.hpp"
#include "storage/azure/blob_location.hpp"

namespace kb::cli {

namespace {

kb::result<void> check_security(const kafka_config& k, [[maybe_unused]] std::string_view section) {
  if (k.security.uses_sasl() && k.security.mechanism == sasl_mechanism::gssapi) {
#ifndef KB_HAVE_GSSAPI
    return fail(errc::config, fmt::format("{}.security.sasl_mechanism: GSSAPI is not built into this "
                                          "binary (build with -Dgssapi=enabled)",
                                          section));
#endif
  }
  return {};
}

/// A literal `__…` name is an internal topic to the backup's selection, which refuses it without
/// include_internal_topics once connected: refused here so `config` says so too.
kb::result<void> check_internal_topics(const config& cfg) {
  if (cfg.backup.include_internal_topics) return {};
  const auto internal = [](const std::string& name) {
    return pipeline::backup::is_literal(name) && pipeline::backup::is_internal_topic({name, false});
  };
  if (cfg.source) {
    for (const auto& name : cfg.source->topics.include) {
      if (internal(name)) {
        return fail(errc::config, fmt::format("source.topics.include names the internal topic '{}'; set "
                                              "backup.include_internal_topics: true to back it up",
                                              name));
      }
    }
  }
  for (const auto& name : cfg.backup.internal_topics) {  // added to the include list
    if (internal(name)) {
      return fail(errc::config, fmt::format("backup.internal_topics names the internal topic '{}'; set "
                                            "backup.include_internal_topics: true to back it up",
                                            name));
    }
  }
  return {};
}

}  // namespace

kb::result<void> check_runnable(const config& cfg) {
  if (cfg.storage.backend == storage_backend::azure) {
    const auto& s = cfg.storage;
    if (auto r = storage::azure::check_names(s.account_name, s.container_name); !r) return r;
    const bool ad = s.use_workload_identity || !s.client_secret.empty();
    if (!s.account_key.empty() + !s.sas_token.empty() + ad > 1) {
      return fail(errc::config, "storage: more than one Azure credential is set (account_key, sas_token, "
                                "use_workload_identity / client_secret); keep exactly one");
    }
  }
  if (cfg.mode == job_kind::backup) {
    if (cfg.source) {
      if (auto r = check_security(*cfg.source, "source"); !r) return r;
    }
    if (auto r = check_internal_topics(cfg); !r) return r;
    if (cfg.backup.start_offset == start_offset_policy::specific) {
      return fail(errc::config, fmt::format("{}: backup.start_offset: specific offsets are not supported by this "
                                            "version; use earliest or latest",
                                            cfg.file));
    }
    return {};
  }
  if (cfg.target) {
    if (auto r = check_security(*cfg.target, "target"); !r) return r;
  }
  if (cfg.restore.purge_topics) {
    // Refused rather than ignored: an operator who asks for it expects the target emptied first.
    return fail(errc::config,
                "restore.purge_topics: true is not supported: this version never deletes records in the target. "
                "Empty the target topics first (kafka-delete-records.sh) or restore into new topics with "
                "restore.topic_mapping, and remove purge_topics from the config.");
  }
  return {};
}

}  // namespace kb::cli
