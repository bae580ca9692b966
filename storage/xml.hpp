// A small, careful XML reader for S3 responses (ListObjectsV2, errors, multipart): elements,
// text and entity references; attributes, comments, CDATA and the prolog are understood and
// skipped or kept as text. Not a validating parser.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"

namespace kb::storage::xml {

struct element {
  std::string name;  ///< local name, namespace prefix removed ("s3:Key" -> "Key")
  std::string text;  ///< concatenated character data directly inside this element, decoded
  std::vector<element> children;

  /// First child with this name, or nullptr.
  [[nodiscard]] const element* child(std::string_view child_name) const noexcept;
  /// Text of the first child with this name, or "" when absent.
  [[nodiscard]] std::string child_text(std::string_view child_name) const;
  /// All children with this name, in document order.
  [[nodiscard]] std::vector<const element*> children_named(std::string_view child_name) const;
};

/// Parses a document and returns its root element; errc::protocol on malformed input.
result<element> parse(std::string_view document);

/// Decodes &amp; &lt; &gt; &quot; &apos; &#NN; &#xHH; (UTF-8 output); errc::protocol on an
/// unknown or malformed reference.
result<std::string> decode_entities(std::string_view text);

/// Escapes & < > " ' for use in element text.
std::string escape(std::string_view text);

}  // namespace kb::storage::xml
