// The checks `backup` and `restore` make on a loaded config before any I/O (settings this
// binary cannot honour), shared with `config` so it never accepts what the commands refuse.
#pragma once

#include "base/error.hpp"
#include "cli/config.hpp"

namespace kb::cli {

/// errc::config naming the key and the fix for a setting the command of `cfg.mode` refuses:
/// an unsupported storage backend, GSSAPI without Kerberos support built in, specific start
/// offsets (backup), purge_topics (restore). Touches no file or network (TLS files and the
/// cluster are checked when the command runs).
[[nodiscard]] kb::result<void> check_runnable(const config& cfg);

}  // namespace kb::cli
