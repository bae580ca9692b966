// The filesystem backend: objects are files under a root directory. A put writes a temp file
// in the target directory, fsyncs it, renames it into place and fsyncs the directory, so an
// object is either absent or complete, even across a crash.
#pragma once

#include <filesystem>
#include <memory>

#include "storage/object_store.hpp"

namespace kb::storage {

class filesystem_store final : public object_store {
 public:
  /// `root` is the directory that holds the objects (the location's path joined with its
  /// prefix). It is created on the first write; reads of a missing root find nothing.
  explicit filesystem_store(const std::filesystem::path& root);

  result<void> put(std::string_view key, byte_view data) override;
  /// The pieces written one after another into the temp file (no joined copy).
  result<void> put(std::string_view key, byte_pieces pieces) override;
  result<void> put_if_absent(std::string_view key, byte_view data) override;
  result<byte_vector> get(std::string_view key) override;
  result<byte_vector> get_range(std::string_view key, std::uint64_t offset,
                                std::uint64_t length) override;
  result<object_meta> head(std::string_view key) override;
  result<std::vector<std::string>> list_prefixes(std::string_view prefix) override;
  result<void> remove(std::string_view key) override;
  result<std::unique_ptr<object_writer>> open_writer(std::string_view key) override;
  /// Batches fsyncs, renames and directory syncs over many files (storage/filesystem_group).
  std::unique_ptr<commit_group> open_commit_group() override;
  [[nodiscard]] bool groups_commits() const noexcept override { return true; }
  /// Removes `*.kb-tmp.<pid>.<n>` files last written before `before` whose process no longer
  /// runs on this host (or is this very process, reusing a dead one's pid).
  result<stale_cleanup> cleanup_stale(std::string_view prefix, std::chrono::system_clock::time_point before,
                                      const std::vector<std::string>& keep) override;
  [[nodiscard]] std::string describe() const override;

  [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }
  /// The file that holds `key` (the key checked, temp names refused).
  [[nodiscard]] result<std::filesystem::path> path_of(std::string_view key) const;

 protected:
  result<std::vector<object_info>> do_list(std::string_view prefix,
                                           const list_options& options) override;

 private:
  std::filesystem::path root_;
};

}  // namespace kb::storage
