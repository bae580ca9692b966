// The typed configuration of one run (DESIGN.md §3, a superset of OSO kafka-backup's YAML)
// and its loader: env substitution, yaml-cpp parsing, strict validation, redacted printing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "base/log.hpp"
#include "cli/env_subst.hpp"
#include "net/security_protocol.hpp"
#include "pipeline/restore/plan.hpp"
#include "storage/format/segment.hpp"

namespace kb::cli {

/// Secret text (passwords, keys, tokens). No stream or fmt operator: read it with reveal()
/// only where it is handed to the code that uses it; printing shows `***`.
class secret_value {
 public:
  secret_value() = default;
  explicit secret_value(std::string value) : value_(std::move(value)) {}
  [[nodiscard]] const std::string& reveal() const noexcept { return value_; }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

 private:
  std::string value_;
};

/// `mode:`: which command the file configures (how a backup ends is pipeline::backup::run_mode).
enum class job_kind { backup, restore };
// Enums owned by the layer that acts on them; the cli only maps their config names
// (cli/config/enum_tables.hpp).
using net::security_protocol;                      // source/target.security.security_protocol
using storage::format::frame_codec;                // backup.compression (`zstd`, `lz4`, `none`)
using pipeline::restore::repartition_strategy;     // `murmur2`; `automatic` is round_robin
using pipeline::restore::repartition_rule;         // restore.repartitioning.<topic>
enum class sasl_mechanism { none, plain, scram_sha_256, scram_sha_512, gssapi, oauthbearer, aws_msk_iam };
enum class storage_backend { filesystem, s3, azure, gcs };
enum class server_side_encryption { none, aes256, aws_kms };
/// `storage.upload_checksum` (s3): how the server checks each uploaded body.
enum class upload_checksum { crc32c, sha256 };
enum class start_offset_policy { earliest, latest, specific };

/// `source.security` / `target.security`.
struct security_config {
  security_protocol protocol = security_protocol::plaintext;
  sasl_mechanism mechanism = sasl_mechanism::none;
  std::string sasl_username;
  secret_value sasl_password;
  std::optional<std::string> ssl_ca_location;           ///< absent: system trust store
  std::optional<std::string> ssl_certificate_location;  ///< mTLS; with ssl_key_location
  std::optional<std::string> ssl_key_location;
  secret_value ssl_key_password;
  bool ssl_endpoint_identification = true;
  std::string sasl_kerberos_service_name = "kafka";
  std::optional<std::string> sasl_keytab_path;
  std::optional<std::string> sasl_krb5_config_path;
  // OAUTHBEARER (KIP-768 client credentials, or a token file)
  std::optional<std::string> sasl_oauthbearer_token_endpoint_url;
  std::optional<std::string> sasl_oauthbearer_client_id;
  secret_value sasl_oauthbearer_client_secret;
  std::optional<std::string> sasl_oauthbearer_scope;
  std::optional<std::string> sasl_oauthbearer_token_file;
  // AWS_MSK_IAM: credentials from the AWS chain; the region to sign for (absent: the one in the
  // MSK broker host name, else AWS_REGION / AWS_DEFAULT_REGION)
  std::optional<std::string> sasl_aws_region;

  [[nodiscard]] bool uses_tls() const noexcept {
    return net::uses_tls(protocol);
  }
  [[nodiscard]] bool uses_sasl() const noexcept {
    return net::uses_sasl(protocol);
  }
};

/// `source.connection` (OSO keys).
struct connection_config {
  bool tcp_keepalive = true;
  std::uint32_t keepalive_time_secs = 60;
  std::uint32_t keepalive_interval_secs = 20;
  bool tcp_nodelay = true;
  std::uint32_t connections_per_broker = 4;
};

/// `source.topics` / `target.topics`: fnmatch(3) globs (`*`, `?`, `[...]`, `\\`) or `~regex`.
struct topic_selection {
  std::vector<std::string> include;  ///< empty: all topics
  std::vector<std::string> exclude;
};

/// `source:` (backup) or `target:` (restore).
struct kafka_config {
  std::vector<std::string> bootstrap_servers;  ///< `host:port`, validated
  std::string client_id = "kafka-backup";
  security_config security;
  topic_selection topics;
  connection_config connection;
};

/// `storage:`.
struct storage_config {
  storage_backend backend = storage_backend::filesystem;
  std::string path;              ///< filesystem
  std::string bucket;            ///< s3, gcs
  std::optional<std::string> region;
  std::optional<std::string> endpoint;  ///< http(s)://host:port for S3-compatible servers
  bool path_style = false;
  bool allow_http = false;
  std::string prefix;            ///< normalised: "" or "a/b/"
  secret_value access_key;       ///< empty: AWS_* environment
  secret_value secret_key;
  secret_value session_token;
  std::string credentials = "auto";  ///< s3: auto|static|env|profile|web_identity|container|imds (storage validates)
  std::optional<std::string> imds_endpoint;  ///< s3, azure: instance metadata endpoint (tests, private)
  bool imds_v1 = false;                      ///< s3: IMDSv1 allowed when the IMDSv2 token is refused
  std::optional<std::string> sts_endpoint;   ///< s3: STS for web identity / role_arn (private endpoints)
  server_side_encryption sse = server_side_encryption::none;
  std::optional<std::string> sse_kms_key_id;
  upload_checksum checksum = upload_checksum::crc32c;
  std::uint64_t retry_budget_ms = 120000;  ///< s3, azure: total time one storage call may spend retrying
  std::uint64_t stall_timeout_ms = 30000;  ///< s3, azure: abandon (and retry) an attempt idle this long
  // azure
  std::string account_name;
  std::string container_name;
  secret_value account_key;
  secret_value sas_token;
  bool use_workload_identity = false;
  std::optional<std::string> client_id;
  std::optional<std::string> tenant_id;
  secret_value client_secret;
  std::optional<std::string> encryption_scope;  ///< azure: x-ms-encryption-scope on writes
  secret_value customer_provided_key;           ///< azure: base64 AES-256 key (x-ms-encryption-key)
  // gcs
  std::optional<std::string> service_account_path;  ///< else Application Default Credentials
  std::optional<std::string> kms_key_name;          ///< CMEK for new objects
};

/// `backup:`.
struct backup_config {
  frame_codec compression = frame_codec::zstd;
  int compression_level = 3;
  std::uint64_t segment_max_bytes = 134217728;
  std::uint64_t segment_max_interval_ms = 60000;
  std::optional<std::uint64_t> segment_max_records;
  std::optional<std::uint32_t> fetch_max_bytes;  ///< absent: min(segment_max_bytes, 16 MiB)
  bool continuous = false;
  std::uint64_t poll_interval_ms = 100;
  bool stop_at_current_offsets = false;
  start_offset_policy start_offset = start_offset_policy::earliest;
  /// start_offset: {specific: {topic: {partition: offset}}}
  std::map<std::string, std::map<std::int32_t, std::int64_t>> specific_offsets;
  std::uint32_t max_concurrent_partitions = 8;
  bool include_internal_topics = false;
  std::vector<std::string> internal_topics;
  bool include_offset_headers = false;  ///< accepted, ignored (no headers in user data)
  std::optional<std::string> source_cluster_id;
  bool consumer_group_snapshot = false;
  /// 96 MiB keeps a 12-partition backup's peak RSS near 160 MiB to the filesystem and below
  /// 240 MiB to S3, at no measured cost in rate (BENCHMARKS.md); more means fewer segments
  /// sealed early on many partitions.
  std::uint64_t max_buffer_bytes = 96ull << 20;
};

/// `restore:`.
struct restore_config {
  std::optional<std::int64_t> time_window_start;  ///< epoch ms, inclusive
  std::optional<std::int64_t> time_window_end;    ///< epoch ms, inclusive
  std::vector<std::int32_t> source_partitions;    ///< empty: all
  std::map<std::string, std::string> topic_mapping;
  std::map<std::int32_t, std::int32_t> partition_mapping;
  std::map<std::string, repartition_rule> repartitioning;  ///< keyed by target topic
  bool create_topics = true;
  std::optional<std::int16_t> default_replication_factor;  ///< absent: broker default
  bool purge_topics = false;
  std::vector<std::string> consumer_groups;
  bool reset_consumer_offsets = false;
  bool auto_consumer_groups = false;
  bool allow_gaps = false;  ///< restore around holes in a segment chain instead of refusing (exit 4)
  bool dry_run = false;
  std::int16_t produce_acks = -1;
  std::uint32_t produce_timeout_ms = 30000;
  std::uint32_t produce_batch_size = 1000;
  std::uint32_t max_concurrent_partitions = 4;
  std::optional<std::uint64_t> rate_limit_records_per_sec;
  std::optional<std::uint64_t> rate_limit_bytes_per_sec;
  std::optional<std::string> checkpoint_state;  ///< local resume file
  std::optional<std::string> offset_report;     ///< local offset-map report file
  std::optional<std::string> state_dir;         ///< local state directory (default: the store if writable)
};

/// `metrics:`.
struct metrics_config {
  bool enabled = false;
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 9464;
  std::string path = "/metrics";
  std::uint32_t keep_alive_seconds = 0;
  std::uint32_t max_partition_labels = 100;  ///< 0: unlimited
};

/// `logging:` (optional; command-line flags win).
struct logging_config {
  std::optional<kb::log::level> level;
  std::optional<kb::log::format> format;
};

/// `workers:` — scale-out (issue #17): N processes share one run through a Kafka group
/// (protocol type `kafka-backup`). Absent: one process does everything.
struct workers_config {
  std::string group_id;                         ///< required
  std::uint32_t session_timeout_ms = 45'000;    ///< KIP-62: a worker silent this long loses its partitions
  std::uint32_t rebalance_timeout_ms = 60'000;  ///< how long a rebalance waits for workers to seal and rejoin
  std::optional<std::string> instance_id;       ///< KIP-345 static membership (e.g. the pod name)
};

/// A whole configuration file, validated, defaults filled in.
struct config {
  std::string file;  ///< where it was loaded from (for messages)
  job_kind mode = job_kind::backup;
  std::string backup_id;
  std::optional<kafka_config> source;
  std::optional<kafka_config> target;
  storage_config storage;
  backup_config backup;
  restore_config restore;
  metrics_config metrics;
  logging_config logging;
  std::optional<workers_config> workers;
  /// Accepted-but-questionable settings, each `file:line:col: key: why` (log them as warnings).
  std::vector<std::string> warnings;
};

/// Loads, substitutes, parses and validates a file. Every error is errc::config (exit 2),
/// including an unreadable file; the message lists each problem on its own line as
/// `file:line:column: key.path: what is wrong`.
[[nodiscard]] kb::result<config> load_config_file(const std::string& path, const env_lookup& env);

/// Same, from text; `source_name` is used in messages in place of a file name.
[[nodiscard]] kb::result<config> load_config_text(std::string_view text,
                                                  std::string_view source_name,
                                                  const env_lookup& env);

/// `prod`, `prod/`, `/prod/` -> `prod/`; `` and `/` -> ``; repeated slashes collapse.
[[nodiscard]] std::string normalize_prefix(std::string_view prefix);

/// True for keys whose values are secrets: *password*, *secret*, session_token, sas_token,
/// account_key, customer_provided_key (client_secret, secret_key, secret_access_key included).
[[nodiscard]] bool is_secret_key(std::string_view key) noexcept;

/// Parses epoch milliseconds (digits) or RFC 3339 (`2025-01-15T00:00:00Z`, fractional
/// seconds and `+hh:mm` offsets allowed; `t`/space separator accepted) into epoch ms.
[[nodiscard]] std::optional<std::int64_t> parse_timestamp_ms(std::string_view text);

/// The resolved configuration as YAML, every key with its value or default, secrets `***`.
[[nodiscard]] std::string to_yaml(const config& cfg);
/// The same as one JSON object (compact, one line).
[[nodiscard]] std::string to_json(const config& cfg);

/// Levenshtein distance (used for "did you mean" suggestions).
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

std::string_view to_string(job_kind m) noexcept;
std::string_view to_string(sasl_mechanism m) noexcept;
std::string_view to_string(storage_backend b) noexcept;
std::string_view to_string(server_side_encryption s) noexcept;
std::string_view to_string(upload_checksum c) noexcept;
std::string_view to_string(frame_codec c) noexcept;
std::string_view to_string(start_offset_policy s) noexcept;
std::string_view to_string(repartition_strategy s) noexcept;  ///< config names

}  // namespace kb::cli
