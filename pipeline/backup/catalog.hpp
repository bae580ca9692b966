// pipeline/backup/catalog: what a backup set says about itself — the topics followed (selected from the
// cluster's metadata), backup.json (kept across runs, one source cluster) and each topic's topic.json.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/error.hpp"
#include "net/cluster.hpp"
#include "pipeline/backup/backup_job.hpp"
#include "pipeline/backup/group_snapshot.hpp"
#include "storage/format/manifest.hpp"

namespace kb::storage {
class object_store;
}

namespace kb::pipeline::backup {

/// This run's backup.json merged with the one stored by earlier runs: the creation time is kept
/// and the stored topics are returned in `earlier`; a different source cluster is errc::conflict
/// (a new backup_id is needed). Pure.
[[nodiscard]] result<storage::format::backup_manifest> merge_manifest(
    storage::format::backup_manifest fresh, const storage::format::backup_manifest& stored, std::set<std::string>& earlier);

/// backup.json's topic lists: every topic listed by this or an earlier run; those the current
/// selection no longer follows are marked not_followed (their data stays). Pure.
void list_topics(storage::format::backup_manifest& m, const std::set<std::string>& earlier,
                 const std::set<std::string>& followed);

/// "none", "lz4", "zstd" as backup.json names the codec.
[[nodiscard]] std::string codec_name(storage::format::frame_codec c);

/// The followed topics and the set's manifests. Used on the io thread; its store calls block.
class catalog {
 public:
  catalog(storage::object_store& store, const storage::format::backup_paths& paths, const options& opts,
          std::string principal_hint);

  /// Adds the topics the configuration selects now (never drops one while running). Literal
  /// includes are asked for by name, so an ACL denial is an error, not absence; nothing selected
  /// is errc::not_found except in continuous mode.
  [[nodiscard]] boost::asio::awaitable<result<void>> async_select(net::cluster& cluster);

  /// Starts backup.json for this run from the stored one (see merge_manifest) and writes it.
  [[nodiscard]] result<void> open(const std::optional<std::string>& reported_cluster_id, std::int64_t now_ms);
  /// Writes backup.json as it stands.
  [[nodiscard]] result<void> write(std::int64_t now_ms);
  /// Writes the topic's topic.json (partitions, replication, configs set on the topic). A
  /// DescribeConfigs failure is noted in backup.json once (`warned`) and is not an error.
  [[nodiscard]] boost::asio::awaitable<result<void>> async_write_topic(net::cluster& cluster, const std::string& name,
                                                                       bool& warned);

  /// Stores a consumer-group snapshot; backup.json names the groups it could not read (none:
  /// the field goes). The first store error is returned, after both writes were tried.
  [[nodiscard]] result<void> save_groups(const group_capture& cap, std::int64_t now_ms);

  [[nodiscard]] const std::set<std::string>& topics() const noexcept { return topics_; }
  [[nodiscard]] storage::format::backup_manifest& manifest() noexcept { return manifest_; }

 private:
  storage::object_store& store_;
  const storage::format::backup_paths& paths_;
  const options& opts_;
  std::string principal_hint_;
  std::set<std::string> topics_;          ///< followed: what the current source.topics selects
  std::set<std::string> earlier_topics_;  ///< listed in backup.json by earlier runs
  storage::format::backup_manifest manifest_;
};

}  // namespace kb::pipeline::backup
