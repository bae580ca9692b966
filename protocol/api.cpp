#include "protocol/api.hpp"

#include <fmt/format.h>

namespace kb::protocol {

std::string_view name(api_key key) noexcept {
  const api_support* s = find_support(key);
  return s != nullptr ? s->name : std::string_view("unknown");
}

std::size_t version_table::index(api_key key) noexcept {
  for (std::size_t i = 0; i < supported_apis.size(); ++i)
    if (supported_apis[i].key == key) return i;
  return supported_apis.size();
}

std::optional<std::int16_t> version_table::find(api_key key) const noexcept {
  const std::size_t i = index(key);
  if (i >= supported_apis.size() || !present_[i]) return std::nullopt;
  return versions_[i];
}

void version_table::set(api_key key, std::optional<std::int16_t> version) noexcept {
  const std::size_t i = index(key);
  if (i >= supported_apis.size()) return;
  present_[i] = version.has_value();
  versions_[i] = version.value_or(0);
}

std::optional<api_version_range> version_table::broker_range(api_key key) const noexcept {
  const std::size_t i = index(key);
  if (i >= supported_apis.size() || !advertised_[i]) return std::nullopt;
  return api_version_range{static_cast<std::int16_t>(key), broker_min_[i], broker_max_[i]};
}

std::optional<std::int16_t> version_table::lowest(api_key key) const noexcept {
  const std::size_t i = index(key);
  if (i >= supported_apis.size() || !present_[i]) return std::nullopt;
  return std::max(supported_apis[i].min_version, broker_min_[i]);
}

void version_table::cap(api_key key, std::int16_t cap) noexcept {
  const std::size_t i = index(key);
  const auto low = lowest(key);
  if (!low) return;
  versions_[i] = std::max(*low, std::min(versions_[i], cap));
}

result<std::int16_t> version_table::get(api_key key) const {
  const std::size_t i = index(key);
  if (i >= supported_apis.size())
    return fail(errc::unsupported, fmt::format("API key {} is not spoken by this client",
                                               static_cast<int>(key)));
  if (present_[i]) return versions_[i];
  const api_support& s = supported_apis[i];
  if (!advertised_[i])
    return fail(errc::unsupported,
                fmt::format("the broker does not offer the {} API (we need versions {}..{}); "
                            "use Apache Kafka 2.1 or newer",
                            s.name, s.min_version, s.max_version));
  return fail(errc::unsupported,
              fmt::format("the broker offers {} versions {}..{} but this client speaks {}..{}; "
                          "use a broker between Apache Kafka 2.1 and 4.x",
                          s.name, broker_min_[i], broker_max_[i], s.min_version, s.max_version));
}

result<version_table> negotiate(std::span<const api_version_range> broker,
                                std::span<const api_key> required) {
  version_table table;
  for (std::size_t i = 0; i < supported_apis.size(); ++i) {
    const api_support& ours = supported_apis[i];
    for (const api_version_range& theirs : broker) {
      if (theirs.api_key != static_cast<std::int16_t>(ours.key)) continue;
      table.advertised_[i] = true;
      table.broker_min_[i] = theirs.min_version;
      table.broker_max_[i] = theirs.max_version;
      const std::int16_t hi = std::min(ours.max_version, theirs.max_version);
      const std::int16_t lo = std::max(ours.min_version, theirs.min_version);
      if (hi >= lo) {
        table.present_[i] = true;
        table.versions_[i] = hi;
      }
      break;
    }
  }
  for (api_key key : required) {
    auto version = table.get(key);
    if (!version) return fail(std::move(version.error()));
  }
  return table;
}

result<version_table> negotiate(std::span<const api_version_range> broker) {
  // Admin-only APIs (CreateTopics, DeleteRecords, DescribeConfigs, InitProducerId) are looked
  // up when used, so a broker without them can still be backed up.
  static constexpr std::array<api_key, 11> core{
      api_key::produce,          api_key::fetch,          api_key::list_offsets,
      api_key::metadata,         api_key::offset_commit,  api_key::offset_fetch,
      api_key::find_coordinator, api_key::describe_groups, api_key::list_groups,
      api_key::api_versions,     api_key::sasl_handshake,
  };
  return negotiate(broker, core);
}

}  // namespace kb::protocol
