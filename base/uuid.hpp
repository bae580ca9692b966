// UUIDs through Boost.UUID: fresh random ids, and the two texts of a 16-byte id our documents use.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace kb {

using uuid_bytes = std::array<std::uint8_t, 16>;

/// A fresh random (version 4) UUID as text: "1b4e28ba-2fa1-41d2-883f-0016d3cca427".
[[nodiscard]] std::string random_uuid_text();

/// The canonical text (lower-case, dashed: 8-4-4-4-12); "" for the nil id (all zero), which Kafka
/// sends for "no id". backup.json's topic_id uses this form.
[[nodiscard]] std::string uuid_text(const uuid_bytes& id);

/// 32 lower-case hex digits without dashes; "" for the nil id. The restore state file's form.
[[nodiscard]] std::string uuid_hex(const uuid_bytes& id);

}  // namespace kb
