// What a restore that stopped on an error had written, per source partition, and how to resume
// or start over: appended to the error, so an operator never has to guess (issue #11 item 3).
#pragma once

#include <string>
#include <string_view>

#include "base/error.hpp"
#include "pipeline/restore/offset_map.hpp"

namespace kb::pipeline::restore {

/// Lines for every partition of `state` (acknowledged records only), then the way on.
/// `state_location` is where the state lives (a store key or a local file); `damaged`: the
/// restore stopped on damaged data (the way on then includes replacing the segment).
[[nodiscard]] std::string written_report(const restore_state& state, std::string_view restore_id,
                                         std::string_view state_location, bool damaged = true);

/// `e` with written_report appended to its message; the code is kept (exit code unchanged).
[[nodiscard]] kb::error with_written_report(kb::error e, const restore_state& state, std::string_view restore_id,
                                            std::string_view state_location);

}  // namespace kb::pipeline::restore
