#include "cli/config/enum_tables.hpp"

namespace kb::cli {

using namespace config_detail;

std::string_view to_string(job_kind m) noexcept { return name_of(k_modes, m); }
std::string_view to_string(sasl_mechanism m) noexcept {
  return m == sasl_mechanism::none ? "none" : name_of(k_mechanisms, m);
}
std::string_view to_string(storage_backend b) noexcept { return name_of(k_backends, b); }
std::string_view to_string(server_side_encryption s) noexcept { return name_of(k_sse, s); }
std::string_view to_string(upload_checksum c) noexcept { return name_of(k_upload_checksums, c); }
std::string_view to_string(frame_codec c) noexcept { return name_of(k_codecs, c); }
std::string_view to_string(start_offset_policy s) noexcept {
  return s == start_offset_policy::specific ? "specific" : name_of(k_start_offsets, s);
}
std::string_view to_string(repartition_strategy s) noexcept { return name_of(k_strategies, s); }

}  // namespace kb::cli
