#include "cli/config.hpp"

#include <fstream>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kb::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

env_lookup fake_env(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// A minimal valid backup config; tests append sections to it. Lines 1-7.
const std::string k_backup_base =
    "mode: backup\n"
    "backup_id: orders-daily\n"
    "source:\n"
    "  bootstrap_servers: [\"kafka-0:9092\"]\n"
    "storage:\n"
    "  backend: filesystem\n"
    "  path: /var/backups\n";

const std::string k_restore_base =
    "mode: restore\n"
    "backup_id: orders-daily\n"
    "target:\n"
    "  bootstrap_servers: [\"kafka-0:9092\"]\n"
    "storage:\n"
    "  path: /var/backups\n";

kb::result<config> load(const std::string& text, env_lookup env = fake_env()) {
  return load_config_text(text, "test.yaml", env);
}

std::string error_of(const std::string& text, env_lookup env = fake_env()) {
  const auto r = load(text, std::move(env));
  if (r) return "(loaded without error)";
  EXPECT_TRUE(r.error().is(kb::errc::config)) << r.error().message;
  return r.error().message;
}

std::string warnings_of(const config& cfg) {
  std::string all;
  for (const auto& w : cfg.warnings) all += w + "\n";
  return all;
}

// ---------------------------------------------------------------------------------------------
// Defaults (DESIGN.md §3, anchor-oso.md §2).

TEST(config_defaults, minimal_backup_gets_documented_defaults) {
  const auto r = load(k_backup_base);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->mode, job_kind::backup);
  EXPECT_EQ(r->backup_id, "orders-daily");
  ASSERT_TRUE(r->source);
  EXPECT_EQ(r->source->bootstrap_servers, std::vector<std::string>{"kafka-0:9092"});
  EXPECT_EQ(r->source->client_id, "kafka-backup");
  EXPECT_EQ(r->source->security.protocol, security_protocol::plaintext);
  EXPECT_TRUE(r->source->security.ssl_endpoint_identification);
  EXPECT_EQ(r->source->connection.connections_per_broker, 4u);
  EXPECT_EQ(r->storage.backend, storage_backend::filesystem);
  EXPECT_EQ(r->storage.path, "/var/backups");
  EXPECT_EQ(r->backup.compression, frame_codec::zstd);
  EXPECT_EQ(r->backup.compression_level, 3);
  EXPECT_EQ(r->backup.segment_max_bytes, 134217728u);
  EXPECT_EQ(r->backup.segment_max_interval_ms, 60000u);
  EXPECT_FALSE(r->backup.continuous);
  EXPECT_FALSE(r->backup.stop_at_current_offsets);
  EXPECT_EQ(r->backup.start_offset, start_offset_policy::earliest);
  EXPECT_EQ(r->backup.max_concurrent_partitions, 8u);
  EXPECT_EQ(r->backup.poll_interval_ms, 100u);
  EXPECT_EQ(r->backup.max_buffer_bytes, 96ull * 1024 * 1024);
  EXPECT_FALSE(r->backup.fetch_max_bytes);
  EXPECT_FALSE(r->metrics.enabled);
  EXPECT_EQ(r->metrics.bind_address, "127.0.0.1");
  EXPECT_EQ(r->metrics.port, 9464);
  EXPECT_EQ(r->metrics.path, "/metrics");
  EXPECT_EQ(r->metrics.max_partition_labels, 100u);
  EXPECT_TRUE(r->warnings.empty()) << warnings_of(*r);
}

TEST(config_defaults, minimal_restore_gets_documented_defaults) {
  const auto r = load(k_restore_base);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->mode, job_kind::restore);
  EXPECT_TRUE(r->target);
  EXPECT_EQ(r->restore.produce_acks, -1);
  EXPECT_EQ(r->restore.produce_timeout_ms, 30000u);
  EXPECT_EQ(r->restore.produce_batch_size, 1000u);
  EXPECT_EQ(r->restore.max_concurrent_partitions, 4u);
  EXPECT_TRUE(r->restore.create_topics);
  EXPECT_FALSE(r->restore.purge_topics);
  EXPECT_FALSE(r->restore.dry_run);
  EXPECT_FALSE(r->restore.time_window_start);
  EXPECT_FALSE(r->restore.default_replication_factor);
}

// ---------------------------------------------------------------------------------------------
// The documentation's complete secure example (shared/seed/security-setup.md).

TEST(config_seed, complete_secure_example_loads) {
  const std::string path = std::string(KB_CLI_TEST_DATA) + "/seed-secure-backup.yaml";
  const auto r = load_config_file(path, fake_env({{"KAFKA_PASSWORD", "pw-123"}}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->backup_id, "secure-production-backup");
  ASSERT_TRUE(r->source);
  EXPECT_EQ(r->source->bootstrap_servers.size(), 3u);
  EXPECT_EQ(r->source->security.protocol, security_protocol::sasl_ssl);
  EXPECT_EQ(r->source->security.mechanism, sasl_mechanism::scram_sha_512);
  EXPECT_EQ(r->source->security.sasl_username, "backup-service");
  EXPECT_EQ(r->source->security.sasl_password.reveal(), "pw-123");
  EXPECT_EQ(r->source->security.ssl_key_location, "/certs/client.key");
  EXPECT_EQ(r->source->topics.include, std::vector<std::string>{"*"});
  EXPECT_EQ(r->source->topics.exclude, std::vector<std::string>{"__consumer_offsets"});
  EXPECT_EQ(r->storage.backend, storage_backend::s3);
  EXPECT_EQ(r->storage.bucket, "secure-kafka-backups");
  EXPECT_EQ(r->storage.region, "us-west-2");
  // include_offset_headers: true is accepted, with a warning that it is ignored (line 32).
  ASSERT_EQ(r->warnings.size(), 1u) << warnings_of(*r);
  EXPECT_THAT(r->warnings[0], HasSubstr("seed-secure-backup.yaml:32:"));
  EXPECT_THAT(r->warnings[0], HasSubstr("backup.include_offset_headers"));
  EXPECT_THAT(r->warnings[0], HasSubstr("ignored"));
}

TEST(config_seed, missing_password_variable_is_a_config_error_naming_it) {
  const std::string path = std::string(KB_CLI_TEST_DATA) + "/seed-secure-backup.yaml";
  const auto r = load_config_file(path, fake_env());
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().is(kb::errc::config));
  EXPECT_EQ(kb::exit_code_for(r.error()), kb::exit_code::usage);
  EXPECT_THAT(r.error().message, HasSubstr("seed-secure-backup.yaml:13:20:"));
  EXPECT_THAT(r.error().message, HasSubstr("KAFKA_PASSWORD"));
}

// ---------------------------------------------------------------------------------------------
// Unknown keys, duplicates, types.

TEST(config_keys, unknown_key_names_key_location_and_nearest_valid_key) {
  const auto msg = error_of(k_backup_base + "backup:\n  compresion: zstd\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:9:3:"));
  EXPECT_THAT(msg, HasSubstr("backup.compresion"));
  EXPECT_THAT(msg, HasSubstr("did you mean 'compression'?"));
}

TEST(config_keys, unknown_top_level_key_suggests) {
  const auto msg = error_of(k_backup_base + "metrcs:\n  enabled: true\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:8:1: unknown key 'metrcs'; did you mean 'metrics'?"));
}

TEST(config_keys, unknown_key_far_from_everything_lists_valid_keys) {
  const auto msg = error_of(k_backup_base + "metrics:\n  zzzzzzzzzzzz: 1\n");
  EXPECT_THAT(msg, HasSubstr("unknown key 'metrics.zzzzzzzzzzzz'; valid keys here: enabled"));
}

TEST(config_keys, unknown_nested_security_key) {
  const auto msg = error_of(
      "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  security:\n"
      "    sasl_pasword: ${PW}\nstorage:\n  path: /x\n",
      fake_env({{"PW", "topsecret"}}));
  EXPECT_THAT(msg, HasSubstr("test.yaml:6:5: unknown key 'source.security.sasl_pasword'; did you "
                             "mean 'sasl_password'?"));
  EXPECT_THAT(msg, Not(HasSubstr("topsecret")));
}

TEST(config_keys, several_errors_are_all_reported) {
  const auto msg = error_of(k_backup_base + "backup:\n  compresion: zstd\n  continous: true\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:9:3:"));
  EXPECT_THAT(msg, HasSubstr("test.yaml:10:3:"));
  EXPECT_THAT(msg, HasSubstr("did you mean 'continuous'?"));
}

TEST(config_keys, duplicate_key_is_an_error) {
  const auto msg = error_of(k_backup_base + "backup:\n  continuous: false\n  continuous: true\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:10:3: backup.continuous: duplicate key"));
}

TEST(config_types, wrong_type_names_key_and_location) {
  const auto msg = error_of(k_backup_base + "backup:\n  continuous: maybe\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:9:15: backup.continuous: must be true or false, not 'maybe'"));
}

TEST(config_types, integer_expected) {
  const auto msg = error_of(k_backup_base + "backup:\n  segment_max_bytes: big\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:9:22: backup.segment_max_bytes: must be an integer"));
}

TEST(config_types, mapping_expected) {
  const auto msg = error_of(k_backup_base + "backup: yes\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:8:9: backup: must be a mapping"));
}

TEST(config_types, invalid_yaml_reports_one_based_location) {
  const auto msg = error_of("mode: backup\nbackup_id: [unclosed\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:"));
  EXPECT_THAT(msg, HasSubstr("invalid YAML"));
}

TEST(config_types, yaml_broken_by_a_secret_value_does_not_echo_it) {
  const auto msg = error_of(
      "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  security:\n"
      "    sasl_password: \"${PW}\"\nstorage:\n  path: /x\n",
      fake_env({{"PW", "abc\\q"}}));  // inside quotes `\q` is an invalid escape
  EXPECT_THAT(msg, HasSubstr("invalid YAML"));
  EXPECT_THAT(msg, HasSubstr("${PW}"));
  EXPECT_THAT(msg, Not(HasSubstr("abc")));
}

TEST(config_types, empty_document_is_an_error) {
  EXPECT_THAT(error_of(""), HasSubstr("test.yaml: the configuration is empty"));
}

// ---------------------------------------------------------------------------------------------
// Ranges and enums.

TEST(config_ranges, zstd_level_1_to_22) {
  const auto msg = error_of(k_backup_base + "backup:\n  compression_level: 23\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:9:3: backup.compression_level: must be between 1 and 22 for zstd"));
  EXPECT_TRUE(load(k_backup_base + "backup:\n  compression_level: 22\n"));
  EXPECT_TRUE(load(k_backup_base + "backup:\n  compression_level: 1\n"));
  EXPECT_FALSE(load(k_backup_base + "backup:\n  compression_level: 0\n"));
}

TEST(config_ranges, lz4_level_1_to_12) {
  EXPECT_THAT(error_of(k_backup_base + "backup:\n  compression: lz4\n  compression_level: 13\n"),
              HasSubstr("backup.compression_level: must be between 1 and 12 for lz4"));
  const auto r = load(k_backup_base + "backup:\n  compression: lz4\n  compression_level: 12\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->backup.compression, frame_codec::lz4);
}

TEST(config_ranges, level_with_no_compression_warns) {
  const auto r = load(k_backup_base + "backup:\n  compression: none\n  compression_level: 50\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(warnings_of(*r), HasSubstr("backup.compression_level: ignored with compression: none"));
}

TEST(config_ranges, metrics_port) {
  EXPECT_THAT(error_of(k_backup_base + "metrics:\n  port: 70000\n"),
              HasSubstr("test.yaml:9:9: metrics.port: must be between 1 and 65535, not '70000'"));
  EXPECT_THAT(error_of(k_backup_base + "metrics:\n  port: 0\n"),
              HasSubstr("metrics.port: must be between 1 and 65535"));
  const auto r = load(k_backup_base + "metrics:\n  enabled: true\n  port: 9100\n  bind_address: 0.0.0.0\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->metrics.enabled);
  EXPECT_EQ(r->metrics.port, 9100);
  EXPECT_EQ(r->metrics.bind_address, "0.0.0.0");
}

TEST(config_ranges, positive_sizes) {
  EXPECT_THAT(error_of(k_backup_base + "backup:\n  segment_max_bytes: 0\n"),
              HasSubstr("backup.segment_max_bytes: must be between 1 and"));
  EXPECT_THAT(error_of(k_backup_base + "backup:\n  max_buffer_bytes: -5\n"),
              HasSubstr("backup.max_buffer_bytes: must be between 1 and"));
  // Below what one fetch needs, the backup would wait forever for memory (issue #11 item 10).
  EXPECT_THAT(error_of(k_backup_base + "backup:\n  max_buffer_bytes: 524288\n"),
              HasSubstr("backup.max_buffer_bytes: 524288 is below the minimum of 1048576 bytes"));
  EXPECT_THAT(error_of(k_backup_base + "backup:\n  max_buffer_bytes: 100000\n  fetch_max_bytes: 131072\n"),
              HasSubstr("set max_buffer_bytes to at least 131072"));
  EXPECT_THAT(error_of(k_backup_base + "backup:\n  fetch_max_bytes: 3000000000\n"),
              HasSubstr("backup.fetch_max_bytes: must be between 1 and 2147483647"));
  EXPECT_THAT(error_of(k_backup_base + "backup:\n  max_concurrent_partitions: 0\n"),
              HasSubstr("backup.max_concurrent_partitions: must be between 1"));
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  produce_batch_size: 0\n"),
              HasSubstr("restore.produce_batch_size: must be between 1"));
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  rate_limit_bytes_per_sec: 0\n"),
              HasSubstr("restore.rate_limit_bytes_per_sec: must be between 1"));
}

TEST(config_enums, mode_lists_allowed_values) {
  const auto msg = error_of("mode: backpu\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\nstorage:\n  path: /x\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:1:7: mode: unknown value 'backpu'; allowed: backup, restore"));
}

TEST(config_enums, security_protocol_and_mechanism) {
  const std::string head = "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  security:\n";
  EXPECT_THAT(error_of(head + "    security_protocol: TLS\nstorage:\n  path: /x\n"),
              HasSubstr("source.security.security_protocol: unknown value 'TLS'; allowed: PLAINTEXT, "
                        "SSL, SASL_PLAINTEXT, SASL_SSL"));
  EXPECT_THAT(error_of(head + "    security_protocol: SASL_SSL\n    sasl_mechanism: AWS_IAM\n"
                              "storage:\n  path: /x\n"),
              HasSubstr("source.security.sasl_mechanism: unknown value 'AWS_IAM'; allowed: "
                        "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI, OAUTHBEARER, AWS_MSK_IAM"));
  // AWS_MSK_IAM signs with the AWS credential chain: a user name would go unused.
  EXPECT_THAT(error_of(head + "    security_protocol: SASL_SSL\n    sasl_mechanism: AWS_MSK_IAM\n"
                              "    sasl_username: u\nstorage:\n  path: /x\n"),
              HasSubstr("source.security.sasl_mechanism: AWS_MSK_IAM takes no sasl_username/sasl_password"));
  EXPECT_EQ(error_of(head + "    security_protocol: SASL_SSL\n    sasl_mechanism: AWS_MSK_IAM\n"
                            "    sasl_aws_region: eu-west-1\nstorage:\n  path: /x\n"),
            "(loaded without error)");
  // OAUTHBEARER is known, and without a token source it says which keys it needs.
  EXPECT_THAT(error_of(head + "    security_protocol: SASL_SSL\n    sasl_mechanism: OAUTHBEARER\n"
                              "storage:\n  path: /x\n"),
              HasSubstr("source.security.sasl_mechanism: OAUTHBEARER needs sasl_oauthbearer_token_endpoint_url"));
}

TEST(config_enums, compression_backend_start_offset_sse) {
  EXPECT_THAT(error_of(k_backup_base + "backup:\n  compression: gzip\n"),
              HasSubstr("backup.compression: unknown value 'gzip'; allowed: zstd, lz4, none"));
  EXPECT_THAT(error_of(k_backup_base + "backup:\n  start_offset: middle\n"),
              HasSubstr("backup.start_offset: unknown value 'middle'; allowed: earliest, latest"));
  EXPECT_THAT(error_of("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n"
                       "storage:\n  backend: ftp\n"),
              HasSubstr("storage.backend: unknown value 'ftp'; allowed: filesystem, s3, azure, gcs"));
  EXPECT_THAT(error_of("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n"
                       "storage:\n  backend: s3\n  bucket: b\n  server_side_encryption: kms\n"),
              HasSubstr("storage.server_side_encryption: unknown value 'kms'; allowed: none, AES256, aws:kms"));
}

TEST(config_enums, enum_value_from_a_variable_is_not_quoted) {
  const auto msg = error_of(k_backup_base + "backup:\n  compression: ${CODEC}\n",
                            fake_env({{"CODEC", "brotli"}}));
  EXPECT_THAT(msg, HasSubstr("backup.compression: unknown value the value of ${CODEC}"));
  EXPECT_THAT(msg, Not(HasSubstr("brotli")));
}

// ---------------------------------------------------------------------------------------------
// Cross-field rules.

TEST(config_rules, backup_id_pattern) {
  EXPECT_THAT(error_of("mode: backup\nbackup_id: \"orders daily/1\"\nsource:\n  bootstrap_servers: [k:1]\n"
                       "storage:\n  path: /x\n"),
              HasSubstr("test.yaml:2:1: backup_id: 'orders daily/1' is not a valid backup id"));
  EXPECT_THAT(error_of("mode: backup\nsource:\n  bootstrap_servers: [k:1]\nstorage:\n  path: /x\n"),
              HasSubstr("backup_id: is required"));
  EXPECT_TRUE(load("mode: backup\nbackup_id: A.b_c-9\nsource:\n  bootstrap_servers: [k:1]\nstorage:\n  path: /x\n"));
}

TEST(config_rules, continuous_and_stop_at_current_offsets_conflict) {
  const auto msg = error_of(k_backup_base +
                            "backup:\n  continuous: true\n  stop_at_current_offsets: true\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:10:3: backup.stop_at_current_offsets: cannot be combined "
                             "with continuous"));
}

TEST(config_rules, mtls_needs_certificate_and_key) {
  const std::string head = "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  security:\n"
                           "    security_protocol: SSL\n";
  EXPECT_THAT(error_of(head + "    ssl_certificate_location: /c.crt\nstorage:\n  path: /x\n"),
              HasSubstr("test.yaml:7:5: source.security.ssl_certificate_location: mutual TLS needs "
                        "both ssl_certificate_location and ssl_key_location; ssl_key_location is missing"));
  EXPECT_THAT(error_of(head + "    ssl_key_location: /c.key\nstorage:\n  path: /x\n"),
              HasSubstr("ssl_certificate_location is missing"));
  EXPECT_TRUE(load(head + "    ssl_certificate_location: /c.crt\n    ssl_key_location: /c.key\n"
                          "storage:\n  path: /x\n"));
}

TEST(config_rules, sasl_needs_mechanism_and_credentials) {
  const std::string head = "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  security:\n";
  EXPECT_THAT(error_of(head + "    security_protocol: SASL_SSL\nstorage:\n  path: /x\n"),
              HasSubstr("source.security.sasl_mechanism: security_protocol SASL_SSL needs sasl_mechanism"));
  const auto msg = error_of(head + "    security_protocol: SASL_PLAINTEXT\n    sasl_mechanism: PLAIN\n"
                                   "storage:\n  path: /x\n");
  EXPECT_THAT(msg, HasSubstr("source.security.sasl_username: sasl_mechanism PLAIN needs sasl_username"));
  EXPECT_THAT(msg, HasSubstr("source.security.sasl_password: sasl_mechanism PLAIN needs sasl_password"));
  // GSSAPI needs neither.
  EXPECT_TRUE(load(head + "    security_protocol: SASL_PLAINTEXT\n    sasl_mechanism: GSSAPI\n"
                          "    sasl_keytab_path: /etc/krb5.keytab\nstorage:\n  path: /x\n"));
}

TEST(config_rules, endpoint_identification_false_is_flagged) {
  const auto r = load("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  security:\n"
                      "    security_protocol: SSL\n    ssl_endpoint_identification: false\n"
                      "storage:\n  path: /x\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->source->security.ssl_endpoint_identification);
  EXPECT_THAT(warnings_of(*r), HasSubstr("test.yaml:7:5: source.security.ssl_endpoint_identification"));
}

TEST(config_rules, time_window_epoch_ms_and_rfc3339) {
  const auto r = load(k_restore_base +
                      "restore:\n  time_window_start: 2025-01-15T00:00:00Z\n"
                      "  time_window_end: 1736985600000\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->restore.time_window_start, 1736899200000);  // date -u -d 2025-01-15 +%s = 1736899200
  EXPECT_EQ(r->restore.time_window_end, 1736985600000);
}

TEST(config_rules, time_window_start_after_end) {
  const auto msg = error_of(k_restore_base +
                            "restore:\n  time_window_start: 1736985600000\n  time_window_end: 1736899200000\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:8:3: restore.time_window_start: time_window_start "
                             "(1736985600000) is after time_window_end (1736899200000)"));
}

TEST(config_rules, time_window_garbage) {
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  time_window_end: yesterday\n"),
              HasSubstr("restore.time_window_end: 'yesterday' is neither epoch milliseconds nor an RFC 3339 time"));
}

TEST(config_rules, source_required_for_backup_target_for_restore) {
  EXPECT_THAT(error_of("mode: backup\nbackup_id: a\nstorage:\n  path: /x\n"),
              HasSubstr("source: is required for mode backup"));
  EXPECT_THAT(error_of("mode: restore\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\nstorage:\n  path: /x\n"),
              HasSubstr("target: is required for mode restore"));
}

TEST(config_rules, storage_required_and_backend_keys) {
  EXPECT_THAT(error_of("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n"),
              HasSubstr("storage: is required"));
  EXPECT_THAT(error_of("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\nstorage:\n  backend: s3\n"),
              HasSubstr("storage.bucket: backend s3 needs bucket"));
  EXPECT_THAT(error_of("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\nstorage:\n  backend: filesystem\n"),
              HasSubstr("storage.path: backend filesystem needs path"));
  EXPECT_THAT(error_of("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\nstorage:\n  backend: azure\n"),
              HasSubstr("storage.account_name: backend azure needs account_name"));
  const auto r = load("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n"
                      "storage:\n  path: /x\n  bucket: stray\n");
  ASSERT_TRUE(r);
  EXPECT_THAT(warnings_of(*r), HasSubstr("test.yaml:7:3: storage.bucket: ignored with backend filesystem"));
}

TEST(config_rules, gcs_keys_bucket_name_and_kms_key) {
  const std::string base = "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\nstorage:\n  backend: gcs\n";
  const auto r = load(base + "  bucket: my-backups\n  prefix: prod\n  service_account_path: /k.json\n"
                             "  kms_key_name: projects/p/locations/eu/keyRings/r/cryptoKeys/k\n"
                             "  endpoint: http://127.0.0.1:4443\n  retry_budget_ms: 5000\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->warnings.empty()) << warnings_of(*r);
  EXPECT_EQ(r->storage.kms_key_name, "projects/p/locations/eu/keyRings/r/cryptoKeys/k");
  EXPECT_EQ(r->storage.service_account_path, "/k.json");
  EXPECT_EQ(r->storage.prefix, "prod/");
  EXPECT_THAT(error_of(base + "  bucket: My_Bucket\n"), HasSubstr("storage.bucket: is not a valid GCS bucket name"));
  EXPECT_THAT(error_of(base + "  bucket: b-1\n  kms_key_name: my-key\n"),
              HasSubstr("storage.kms_key_name: must be a Cloud KMS key name"));
  EXPECT_THAT(error_of(base), HasSubstr("storage.bucket: backend gcs needs bucket"));
}

TEST(config_rules, bootstrap_servers_must_be_host_port) {
  const auto msg = error_of("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers:\n    - kafka-0:9092\n"
                            "    - kafka-1\n    - \"[::1]:9093\"\n    - h:99999\nstorage:\n  path: /x\n");
  EXPECT_THAT(msg, HasSubstr("test.yaml:6:7: source.bootstrap_servers[1]: 'kafka-1' is not host:port"));
  EXPECT_THAT(msg, HasSubstr("source.bootstrap_servers[3]: 'h:99999' is not host:port"));
  EXPECT_THAT(msg, Not(HasSubstr("[2]")));
  const auto r = load("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: \"a:1, b:2\"\nstorage:\n  path: /x\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->source->bootstrap_servers, (std::vector<std::string>{"a:1", "b:2"}));
}

TEST(config_rules, regex_topic_patterns_are_checked) {
  EXPECT_THAT(error_of("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  topics:\n"
                       "    include: [\"~orders-(\"]\nstorage:\n  path: /x\n"),
              HasSubstr("source.topics.include[0]: invalid regular expression"));
}

TEST(config_rules, produce_acks_zero_is_rejected_with_reason) {
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  produce_acks: 0\n"),
              HasSubstr("restore.produce_acks: 0 is not supported"));
  const auto r = load(k_restore_base + "restore:\n  produce_acks: all\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->restore.produce_acks, -1);
}

TEST(config_rules, reset_offsets_needs_groups) {
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  reset_consumer_offsets: true\n"),
              HasSubstr("restore.reset_consumer_offsets: needs consumer_groups"));
  EXPECT_TRUE(load(k_restore_base + "restore:\n  reset_consumer_offsets: true\n  consumer_groups: [billing]\n"));
}

TEST(config_rules, oso_restore_keys) {
  const auto r = load(k_restore_base +
                      "restore:\n"
                      "  source_partitions: [0, 2]\n"
                      "  topic_mapping: {orders: orders-restored}\n"
                      "  partition_mapping: {0: 1}\n"
                      "  repartitioning:\n"
                      "    orders-restored: {strategy: murmur2, target_partitions: 12}\n"
                      "  purge_topics: true\n"
                      "  default_replication_factor: 3\n"
                      "  rate_limit_records_per_sec: 5000\n"
                      "  checkpoint_state: /tmp/restore.json\n"
                      "  offset_report: /tmp/report.json\n"
                      "  auto_consumer_groups: true\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->restore.source_partitions, (std::vector<std::int32_t>{0, 2}));
  EXPECT_EQ(r->restore.topic_mapping.at("orders"), "orders-restored");
  EXPECT_EQ(r->restore.partition_mapping.at(0), 1);
  EXPECT_EQ(r->restore.repartitioning.at("orders-restored").target_partitions, 12);
  EXPECT_EQ(r->restore.repartitioning.at("orders-restored").strategy, repartition_strategy::murmur2);
  EXPECT_TRUE(r->restore.purge_topics);
  EXPECT_EQ(r->restore.default_replication_factor, 3);
  EXPECT_EQ(r->restore.rate_limit_records_per_sec, 5000u);
  EXPECT_TRUE(r->restore.reset_consumer_offsets);  // implied by auto_consumer_groups
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  repartitioning:\n    t: {strategy: random, target_partitions: 0}\n"),
              HasSubstr("restore.repartitioning.t.strategy: unknown value 'random'; allowed: murmur2, automatic"));
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  repartitioning:\n    t: {strategy: automatic}\n"),
              HasSubstr("restore.repartitioning.t: target_partitions is required"));
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  partition_mapping: {0: -1}\n"),
              HasSubstr("restore.partition_mapping.0: must be between 0 and"));
}

TEST(config_rules, restore_state_dir) {
  const auto r = load(k_restore_base + "restore:\n  state_dir: /var/lib/kafka-backup\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->restore.state_dir, std::optional<std::string>("/var/lib/kafka-backup"));
  const auto unset = load(k_restore_base);
  ASSERT_TRUE(unset) << unset.error().message;
  EXPECT_FALSE(unset->restore.state_dir);
}

TEST(config_rules, topic_mapping_targets_must_be_valid_topic_names) {
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  topic_mapping: {orders: \"orders restored\"}\n"),
              HasSubstr("restore.topic_mapping.orders: 'orders restored' is not a valid Kafka topic name: character "
                        "0x20 at position 7 is not allowed"));
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  topic_mapping: {orders: \"..\"}\n"),
              HasSubstr("'.' and '..' are reserved"));
  EXPECT_THAT(error_of(k_restore_base + "restore:\n  topic_mapping: {orders: " + std::string(250, 'o') + "}\n"),
              HasSubstr("250 characters long, at most 249"));
  const auto ok = load(k_restore_base + "restore:\n  topic_mapping: {orders: Orders.restored_2-b}\n");
  ASSERT_TRUE(ok) << ok.error().message;
}

TEST(config_rules, oso_backup_keys) {
  const auto r = load(k_backup_base +
                      "backup:\n"
                      "  fetch_max_bytes: 1048576\n"
                      "  poll_interval_ms: 250\n"
                      "  segment_max_records: 10000\n"
                      "  internal_topics: [__consumer_offsets]\n"
                      "  consumer_group_snapshot: true\n"
                      "  source_cluster_id: prod-eu\n"
                      "  max_buffer_bytes: 67108864\n"
                      "  start_offset:\n"
                      "    specific: {orders: {0: 42, 1: 7}}\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->backup.fetch_max_bytes, 1048576u);
  EXPECT_EQ(r->backup.poll_interval_ms, 250u);
  EXPECT_EQ(r->backup.segment_max_records, 10000u);
  EXPECT_EQ(r->backup.internal_topics, std::vector<std::string>{"__consumer_offsets"});
  EXPECT_TRUE(r->backup.consumer_group_snapshot);
  EXPECT_EQ(r->backup.source_cluster_id, "prod-eu");
  EXPECT_EQ(r->backup.max_buffer_bytes, 67108864u);
  EXPECT_EQ(r->backup.start_offset, start_offset_policy::specific);
  EXPECT_EQ(r->backup.specific_offsets.at("orders").at(0), 42);
  EXPECT_EQ(r->backup.specific_offsets.at("orders").at(1), 7);
}

TEST(config_rules, offset_storage_and_connection_accepted) {
  const auto r = load(k_backup_base +
                      "offset_storage:\n  backend: sqlite\n  db_path: ./offsets.db\n"
                      "logging:\n  level: debug\n  format: json\n");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_THAT(warnings_of(*r), HasSubstr("test.yaml:8:1: offset_storage: ignored"));
  EXPECT_EQ(r->logging.level, kb::log::level::debug);
  EXPECT_EQ(r->logging.format, kb::log::format::json);
  const auto c = load("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  connection:\n"
                      "    tcp_keepalive: false\n    connections_per_broker: 2\nstorage:\n  path: /x\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->source->connection.tcp_keepalive);
  EXPECT_EQ(c->source->connection.connections_per_broker, 2u);
}

TEST(config_rules, s3_storage_keys_and_prefix_normalisation) {
  for (const std::string prefix : {"prod", "prod/", "/prod/", "//prod//"}) {
    const auto r = load("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n"
                        "storage:\n  backend: s3\n  bucket: b\n  prefix: \"" + prefix + "\"\n"
                        "  endpoint: http://127.0.0.1:7070\n  path_style: true\n"
                        "  server_side_encryption: aws:kms\n  sse_kms_key_id: arn:aws:kms:k\n");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->storage.prefix, "prod/") << prefix;
    EXPECT_EQ(r->storage.endpoint, "http://127.0.0.1:7070");
    EXPECT_TRUE(r->storage.path_style);
    EXPECT_EQ(r->storage.sse, server_side_encryption::aws_kms);
  }
  EXPECT_THAT(error_of("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n"
                       "storage:\n  backend: s3\n  bucket: b\n  sse_kms_key_id: k\n"),
              HasSubstr("storage.sse_kms_key_id: needs server_side_encryption: aws:kms"));
  EXPECT_THAT(error_of("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n"
                       "storage:\n  backend: s3\n  bucket: b\n  endpoint: 127.0.0.1:7070\n"),
              HasSubstr("storage.endpoint: must be a URL starting with http:// or https://"));
}

// Issue #14 item 5: the loader refuses a source the store would refuse, so `config` does too.
TEST(config_rules, s3_unknown_credential_source_is_an_error_at_its_line) {
  const std::string s3 = "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n"
                         "storage:\n  backend: s3\n  bucket: b\n";
  for (const auto* known : {"auto", "static", "env", "profile", "container", "imds"}) {
    const auto ok = load(s3 + "  credentials: " + known + "\n");
    EXPECT_TRUE(ok) << known << ": " << ok.error().message;
  }
  const auto bad = load(s3 + "  credentials: instance\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(kb::exit_code_for(bad.error()), kb::exit_code::usage);
  EXPECT_THAT(bad.error().message,
              HasSubstr("test.yaml:8:3: storage.credentials: unknown value 'instance'; allowed: auto, static"));
  // Not an S3 store: the key is ignored with a warning, whatever its value.
  const auto fs = load(k_backup_base + "  credentials: instance\n");
  ASSERT_TRUE(fs) << fs.error().message;
}

TEST(config_rules, s3_upload_checksum_default_values_and_errors) {
  const std::string s3 = "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n"
                         "storage:\n  backend: s3\n  bucket: b\n";
  const auto defaults = load(s3);
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_EQ(defaults->storage.checksum, upload_checksum::crc32c);
  EXPECT_THAT(to_yaml(*defaults), HasSubstr("upload_checksum: crc32c"));

  const auto sha = load(s3 + "  upload_checksum: SHA256\n");
  ASSERT_TRUE(sha) << sha.error().message;
  EXPECT_EQ(sha->storage.checksum, upload_checksum::sha256);
  // Written back, and what is written back loads again with the same value.
  const auto again = load(to_yaml(*sha));
  ASSERT_TRUE(again) << again.error().message << "\n" << to_yaml(*sha);
  EXPECT_EQ(again->storage.checksum, upload_checksum::sha256);
  EXPECT_THAT(to_json(*sha), HasSubstr("\"upload_checksum\":\"sha256\""));

  const auto bad = load(s3 + "  upload_checksum: md5\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(kb::exit_code_for(bad.error()), kb::exit_code::usage);
  EXPECT_THAT(bad.error().message,
              HasSubstr("test.yaml:8:20: storage.upload_checksum: unknown value 'md5'; allowed: crc32c, sha256"));

  const auto fs = load(k_backup_base + "  upload_checksum: sha256\n");
  ASSERT_TRUE(fs) << fs.error().message;
  EXPECT_THAT(warnings_of(*fs), HasSubstr("storage.upload_checksum: ignored with backend filesystem"));
}

TEST(config_helpers, normalize_prefix) {
  EXPECT_EQ(normalize_prefix(""), "");
  EXPECT_EQ(normalize_prefix("/"), "");
  EXPECT_EQ(normalize_prefix("prod"), "prod/");
  EXPECT_EQ(normalize_prefix("/prod/"), "prod/");
  EXPECT_EQ(normalize_prefix("a//b/"), "a/b/");
}

TEST(config_helpers, parse_timestamp_ms) {
  // Reference values: `date -u -d '2025-01-15T00:00:00Z' +%s` = 1736899200.
  EXPECT_EQ(parse_timestamp_ms("2025-01-15T00:00:00Z"), 1736899200000);
  EXPECT_EQ(parse_timestamp_ms("2025-01-15T02:00:00+02:00"), 1736899200000);
  EXPECT_EQ(parse_timestamp_ms("2025-01-14T19:00:00.250-05:00"), 1736899200250);
  EXPECT_EQ(parse_timestamp_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_timestamp_ms("2024-02-29T12:00:00Z"), 1709208000000);  // leap day
  EXPECT_EQ(parse_timestamp_ms("2025-01-15"), 1736899200000);
  EXPECT_EQ(parse_timestamp_ms("1736899200000"), 1736899200000);
  EXPECT_FALSE(parse_timestamp_ms("2025-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp_ms("2025-01-15T00:00:00"));  // no zone
  EXPECT_FALSE(parse_timestamp_ms("2025-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp_ms("soon"));
}

TEST(config_helpers, edit_distance) {
  EXPECT_EQ(edit_distance("compresion", "compression"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(config_helpers, secret_keys) {
  for (const char* key : {"sasl_password", "ssl_key_password", "secret_key", "secret_access_key",
                          "session_token", "sas_token", "account_key", "client_secret",
                          "customer_provided_key"}) {
    EXPECT_TRUE(is_secret_key(key)) << key;
  }
  for (const char* key : {"sasl_username", "access_key", "bucket", "ssl_key_location", "client_id"}) {
    EXPECT_FALSE(is_secret_key(key)) << key;
  }
}

// ---------------------------------------------------------------------------------------------
// Printing: every key with defaults, secrets as ***.

TEST(config_print, yaml_redacts_secrets_and_fills_defaults) {
  const auto r = load(
      "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  security:\n"
      "    security_protocol: SASL_SSL\n    sasl_mechanism: PLAIN\n    sasl_username: u\n"
      "    sasl_password: ${PW}\n    ssl_certificate_location: /c\n    ssl_key_location: /k\n"
      "    ssl_key_password: ${KP}\n"
      "storage:\n  backend: s3\n  bucket: b\n  access_key: ${AK}\n  secret_key: ${SK}\n"
      "  session_token: ${ST}\n",
      fake_env({{"PW", "pw-value-1"}, {"KP", "kp-value-2"}, {"AK", "AKIAEXAMPLE"},
                {"SK", "sk-value-3"}, {"ST", "st-value-4"}}));
  ASSERT_TRUE(r) << r.error().message;
  const std::string yaml = to_yaml(*r);
  for (const char* secret : {"pw-value-1", "kp-value-2", "AKIAEXAMPLE", "sk-value-3", "st-value-4"}) {
    EXPECT_THAT(yaml, Not(HasSubstr(secret)));
  }
  EXPECT_THAT(yaml, HasSubstr("sasl_password: \"***\""));
  EXPECT_THAT(yaml, HasSubstr("ssl_key_password: \"***\""));
  EXPECT_THAT(yaml, HasSubstr("access_key: \"***\""));
  EXPECT_THAT(yaml, HasSubstr("secret_key: \"***\""));
  EXPECT_THAT(yaml, HasSubstr("session_token: \"***\""));
  EXPECT_THAT(yaml, HasSubstr("compression_level: 3"));
  EXPECT_THAT(yaml, HasSubstr("port: 9464"));
  EXPECT_THAT(yaml, HasSubstr("bind_address: 127.0.0.1"));
  EXPECT_THAT(yaml, HasSubstr("sasl_username: u"));
  // The printed YAML is itself a valid config (with the secrets replaced).
  const auto json = to_json(*r);
  EXPECT_THAT(json, HasSubstr("\"sasl_password\":\"***\""));
  EXPECT_THAT(json, HasSubstr("\"enabled\":false"));
  EXPECT_THAT(json, Not(HasSubstr("pw-value-1")));
}

TEST(config_print, azure_keys_with_secrets_redacted) {
  const auto r = load(
      "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n"
      "storage:\n  backend: azure\n  account_name: acct\n  container_name: backups\n  sas_token: ${SAS}\n"
      "  encryption_scope: scope-1\n  customer_provided_key: ${CPK}\n  retry_budget_ms: 5000\n",
      fake_env({{"SAS", "sv=2021&sig=sas-value-1"}, {"CPK", "cpk-value-2"}}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->warnings.empty()) << r->warnings.front();
  EXPECT_EQ(r->storage.encryption_scope, "scope-1");
  EXPECT_EQ(r->storage.retry_budget_ms, 5000u);
  const std::string yaml = to_yaml(*r);
  EXPECT_THAT(yaml, Not(HasSubstr("sas-value-1")));
  EXPECT_THAT(yaml, Not(HasSubstr("cpk-value-2")));
  EXPECT_THAT(yaml, HasSubstr("customer_provided_key: \"***\""));
  EXPECT_THAT(yaml, HasSubstr("encryption_scope: scope-1"));
}

TEST(config_print, printed_yaml_loads_back_with_the_same_values) {
  const auto r = load(k_backup_base + "backup:\n  compression: lz4\n  compression_level: 9\n"
                                      "  continuous: true\n");
  ASSERT_TRUE(r) << r.error().message;
  const auto again = load(to_yaml(*r));
  ASSERT_TRUE(again) << again.error().message << "\n" << to_yaml(*r);
  EXPECT_EQ(again->backup.compression, frame_codec::lz4);
  EXPECT_EQ(again->backup.compression_level, 9);
  EXPECT_TRUE(again->backup.continuous);
  EXPECT_EQ(again->storage.path, "/var/backups");
}

TEST(config_secrets, passwords_with_yaml_syntax_read_back_exactly) {
  for (const std::string pw : {"abc #def", "&x y", "*x", "!x", "'q", "\"dq", "a: b", "tail ", "p@ss%w0rd"}) {
    const auto r = load("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  security:\n"
                        "    security_protocol: SASL_SSL\n    sasl_mechanism: PLAIN\n"
                        "    sasl_username: u\n    sasl_password: ${PW}\nstorage:\n  path: /x\n",
                        fake_env({{"PW", pw}}));
    ASSERT_TRUE(r) << pw << ": " << r.error().message;
    EXPECT_EQ(r->source->security.sasl_password.reveal(), pw);
  }
}

TEST(config_secrets, bootstrap_servers_from_a_variable_list) {
  const auto r = load("mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: ${BROKERS}\n"
                      "storage:\n  path: /x\n",
                      fake_env({{"BROKERS", "[\"a:1\", \"b:2\"]"}}));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->source->bootstrap_servers, (std::vector<std::string>{"a:1", "b:2"}));
}

TEST(config_print, secret_values_never_in_errors) {
  // A secret used where a number is expected: the message names the key, not the value.
  const auto msg = error_of(k_backup_base + "metrics:\n  port: ${KAFKA_PASSWORD}\n",
                            fake_env({{"KAFKA_PASSWORD", "hunter2"}}));
  EXPECT_THAT(msg, HasSubstr("metrics.port"));
  EXPECT_THAT(msg, HasSubstr("${KAFKA_PASSWORD}"));
  EXPECT_THAT(msg, Not(HasSubstr("hunter2")));
  const auto list_msg = error_of(
      "mode: backup\nbackup_id: a\nsource:\n  bootstrap_servers: [k:1]\n  security:\n"
      "    sasl_password: [a, b]\nstorage:\n  path: /x\n");
  EXPECT_THAT(list_msg, HasSubstr("source.security.sasl_password: must be a string, not (value hidden: secret)"));
}

}  // namespace
}  // namespace kb::cli
