// `kafka-backup backup`'s mapping of the config onto the backup job's options, and the one-line
// outcome it prints at the end (both pure, so tests/cli/backup_options_test.cpp checks them).
#pragma once

#include <string>

#include "base/error.hpp"
#include "cli/config.hpp"
#include "pipeline/backup/backup_job.hpp"

namespace kb::cli {

/// The job's options from `source:`, `backup:` and `metrics:`. A missing source or an
/// unsupported start offset is errc::config naming the key; unsupported keys are warned about.
[[nodiscard]] kb::result<pipeline::backup::options> backup_job_options(const config& cfg);

/// How a finished run ends: the summary line, and whether it is a failure to report (a one-shot
/// or snapshot backup stopped before its end offsets, DESIGN §2).
struct backup_outcome {
  std::string line;     ///< "backup '<id>' complete: ..." with its newline
  bool partial = false; ///< exit 1 with a "re-run to continue" error
};
[[nodiscard]] backup_outcome describe_outcome(const std::string& backup_id, const pipeline::backup::stats& s,
                                              bool continuous);

}  // namespace kb::cli
