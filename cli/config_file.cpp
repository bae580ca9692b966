#include "cli/config_file.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace kb::cli {

namespace {

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

kb::error config_error(std::string message) { return kb::error{make_error_code(errc::config), std::move(message)}; }

std::string without_trailing_slash(const std::string& path) {
  return path.size() > 1 && path.ends_with('/') ? path.substr(0, path.size() - 1) : path;
}

}  // namespace

kb::result<std::string> read_config_file(const std::string& path, std::size_t limit) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before the type check refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return fail(config_error(
        fmt::format("cannot read config file {}: {}; check the --config path", path, std::strerror(errno))));
  }
  fd_guard guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(config_error(
        fmt::format("cannot read config file {}: {}; check the --config path", path, std::strerror(errno))));
  }
  if (S_ISDIR(st.st_mode)) {
    return fail(config_error(fmt::format(
        "config file {} is a directory; pass the YAML file inside it, e.g. --config {}/backup.yaml", path,
        without_trailing_slash(path))));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(config_error(fmt::format("config file {} is not a regular file (a device, pipe or socket); "
                                         "write the configuration to a file and pass its path to --config",
                                         path)));
  }
  const auto too_large = [&] {
    return config_error(fmt::format("config file {} is larger than {} MiB; a configuration is a few KiB: check "
                                    "that --config names the YAML file",
                                    path, limit >> 20));
  };
  if (static_cast<std::uint64_t>(st.st_size) > limit) return fail(too_large());
  std::string text;
  text.resize(limit + 1);
  std::size_t got = 0;
  // Reads until end of file or one byte past the limit, in case the file grew after fstat.
  while (got < text.size()) {
    const auto n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(config_error(fmt::format("cannot read config file {}: {}", path, std::strerror(errno))));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > limit) return fail(too_large());
  text.resize(got);
  return text;
}

}  // namespace kb::cli
