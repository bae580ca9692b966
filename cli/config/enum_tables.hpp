// The name tables of every configuration enumeration: one table each, used for parsing,
// error messages ("allowed: ...") and printing.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.hpp"
#include "cli/config.hpp"
#include "cli/config/text.hpp"

namespace kb::cli::config_detail {

template <class E>
struct enum_entry {
  std::string_view name;
  E value;
};

inline constexpr std::array<enum_entry<job_kind>, 2> k_modes{{
    {"backup", job_kind::backup}, {"restore", job_kind::restore}}};
inline constexpr std::array<enum_entry<security_protocol>, 4> k_protocols{{
    {"PLAINTEXT", security_protocol::plaintext},
    {"SSL", security_protocol::ssl},
    {"SASL_PLAINTEXT", security_protocol::sasl_plaintext},
    {"SASL_SSL", security_protocol::sasl_ssl}}};
inline constexpr std::array<enum_entry<sasl_mechanism>, 6> k_mechanisms{{
    {"PLAIN", sasl_mechanism::plain},
    {"SCRAM-SHA-256", sasl_mechanism::scram_sha_256},
    {"SCRAM-SHA-512", sasl_mechanism::scram_sha_512},
    {"GSSAPI", sasl_mechanism::gssapi},
    {"OAUTHBEARER", sasl_mechanism::oauthbearer},
    {"AWS_MSK_IAM", sasl_mechanism::aws_msk_iam}}};
inline constexpr std::array<enum_entry<storage_backend>, 4> k_backends{{
    {"filesystem", storage_backend::filesystem},
    {"s3", storage_backend::s3},
    {"azure", storage_backend::azure},
    {"gcs", storage_backend::gcs}}};
inline constexpr std::array<enum_entry<server_side_encryption>, 3> k_sse{{
    {"none", server_side_encryption::none},
    {"AES256", server_side_encryption::aes256},
    {"aws:kms", server_side_encryption::aws_kms}}};
inline constexpr std::array<enum_entry<upload_checksum>, 2> k_upload_checksums{{
    {"crc32c", upload_checksum::crc32c},
    {"sha256", upload_checksum::sha256}}};
inline constexpr std::array<enum_entry<frame_codec>, 3> k_codecs{{
    {"zstd", frame_codec::zstd},
    {"lz4", frame_codec::lz4},
    {"none", frame_codec::none}}};
inline constexpr std::array<enum_entry<start_offset_policy>, 2> k_start_offsets{{
    {"earliest", start_offset_policy::earliest},
    {"latest", start_offset_policy::latest}}};
inline constexpr std::array<enum_entry<repartition_strategy>, 2> k_strategies{{
    {"murmur2", repartition_strategy::murmur2},
    {"automatic", repartition_strategy::round_robin}}};
inline constexpr std::array<enum_entry<kb::log::level>, 4> k_log_levels{{
    {"error", kb::log::level::error},
    {"warn", kb::log::level::warn},
    {"info", kb::log::level::info},
    {"debug", kb::log::level::debug}}};
inline constexpr std::array<enum_entry<kb::log::format>, 2> k_log_formats{{
    {"text", kb::log::format::text}, {"json", kb::log::format::json}}};


template <class E, std::size_t N>
std::string_view name_of(const std::array<enum_entry<E>, N>& table, E value) noexcept {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "?";
}

template <class E, std::size_t N>
std::string allowed_list(const std::array<enum_entry<E>, N>& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.emplace_back(entry.name);
  return join(names, ", ");
}

}  // namespace kb::cli::config_detail
