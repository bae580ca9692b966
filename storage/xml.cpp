#include "storage/xml.hpp"

#include <charconv>

#include <fmt/format.h>

namespace kb::storage::xml {
namespace {

constexpr std::size_t max_depth = 64;

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_name_char(char c) noexcept {
  return !is_space(c) && c != '>' && c != '/' && c != '=' && c != '<' && c != '"' && c != '\'';
}

std::string local_name(std::string_view qualified) {
  const auto colon = qualified.find(':');
  return std::string(colon == std::string_view::npos ? qualified : qualified.substr(colon + 1));
}

class parser {
 public:
  explicit parser(std::string_view doc) : doc_(doc) {}

  result<element> run() {
    if (auto ok = skip_misc(); !ok) return tl::unexpected(ok.error());
    if (pos_ >= doc_.size() || doc_[pos_] != '<') return error("no root element");
    auto root = parse_element(0);
    if (!root) return root;
    if (auto ok = skip_misc(); !ok) return tl::unexpected(ok.error());
    if (pos_ != doc_.size()) return error("content after the root element");
    return root;
  }

 private:
  tl::unexpected<kb::error> error(std::string_view what) const {
    return fail(errc::protocol, fmt::format("malformed XML from the storage server at byte {}: {}",
                                            pos_, what));
  }

  bool starts_with(std::string_view s) const noexcept { return doc_.substr(pos_).starts_with(s); }

  result<void> skip_until(std::string_view terminator, std::string_view what) {
    const auto end = doc_.find(terminator, pos_);
    if (end == std::string_view::npos) return error(fmt::format("unterminated {}", what));
    pos_ = end + terminator.size();
    return {};
  }

  /// Whitespace, <?...?> processing instructions, comments and <!DOCTYPE>.
  result<void> skip_misc() {
    while (true) {
      while (pos_ < doc_.size() && is_space(doc_[pos_])) ++pos_;
      if (starts_with("<?")) {
        if (auto ok = skip_until("?>", "processing instruction"); !ok) return ok;
      } else if (starts_with("<!--")) {
        if (auto ok = skip_until("-->", "comment"); !ok) return ok;
      } else if (starts_with("<!")) {
        if (auto ok = skip_until(">", "declaration"); !ok) return ok;
      } else {
        return {};
      }
    }
  }

  result<element> parse_element(std::size_t depth) {
    if (depth > max_depth) return error("elements nested too deeply");
    ++pos_;  // '<'
    const std::size_t name_start = pos_;
    while (pos_ < doc_.size() && is_name_char(doc_[pos_])) ++pos_;
    const std::string_view qualified = doc_.substr(name_start, pos_ - name_start);
    if (qualified.empty()) return error("element without a name");
    element out;
    out.name = local_name(qualified);
    // Attributes: skipped, but quotes are honoured so a '>' inside a value is not the end.
    while (true) {
      while (pos_ < doc_.size() && is_space(doc_[pos_])) ++pos_;
      if (pos_ >= doc_.size()) return error("unterminated start tag");
      const char c = doc_[pos_];
      if (c == '>') {
        ++pos_;
        break;
      }
      if (c == '/') {
        if (!starts_with("/>")) return error("stray '/' in a start tag");
        pos_ += 2;
        return out;
      }
      if (c == '"' || c == '\'') {
        const auto end = doc_.find(c, pos_ + 1);
        if (end == std::string_view::npos) return error("unterminated attribute value");
        pos_ = end + 1;
      } else {
        ++pos_;
      }
    }
    // Content.
    std::string raw_text;
    while (true) {
      if (pos_ >= doc_.size()) return error(fmt::format("element <{}> is not closed", qualified));
      if (starts_with("</")) {
        pos_ += 2;
        const std::size_t close_start = pos_;
        while (pos_ < doc_.size() && is_name_char(doc_[pos_])) ++pos_;
        if (doc_.substr(close_start, pos_ - close_start) != qualified) {
          return error(fmt::format("</{}> closes <{}>", doc_.substr(close_start, pos_ - close_start),
                                   qualified));
        }
        while (pos_ < doc_.size() && is_space(doc_[pos_])) ++pos_;
        if (pos_ >= doc_.size() || doc_[pos_] != '>') return error("unterminated end tag");
        ++pos_;
        break;
      }
      if (starts_with("<!--")) {
        if (auto ok = skip_until("-->", "comment"); !ok) return tl::unexpected(ok.error());
      } else if (starts_with("<![CDATA[")) {
        pos_ += 9;
        const auto end = doc_.find("]]>", pos_);
        if (end == std::string_view::npos) return error("unterminated CDATA section");
        raw_text += doc_.substr(pos_, end - pos_);  // CDATA is literal text
        pos_ = end + 3;
      } else if (starts_with("<?")) {
        if (auto ok = skip_until("?>", "processing instruction"); !ok) return tl::unexpected(ok.error());
      } else if (doc_[pos_] == '<') {
        auto child = parse_element(depth + 1);
        if (!child) return child;
        out.children.push_back(std::move(*child));
      } else {
        const auto next = doc_.find('<', pos_);
        const std::size_t end = next == std::string_view::npos ? doc_.size() : next;
        auto decoded = decode_entities(doc_.substr(pos_, end - pos_));
        if (!decoded) return tl::unexpected(decoded.error());
        raw_text += *decoded;
        pos_ = end;
      }
    }
    out.text = std::move(raw_text);
    return out;
  }

  std::string_view doc_;
  std::size_t pos_ = 0;
};

}  // namespace

const element* element::child(std::string_view child_name) const noexcept {
  for (const auto& c : children) {
    if (c.name == child_name) return &c;
  }
  return nullptr;
}

std::string element::child_text(std::string_view child_name) const {
  const element* c = child(child_name);
  return c == nullptr ? std::string() : c->text;
}

std::vector<const element*> element::children_named(std::string_view child_name) const {
  std::vector<const element*> out;
  for (const auto& c : children) {
    if (c.name == child_name) out.push_back(&c);
  }
  return out;
}

result<element> parse(std::string_view document) { return parser(document).run(); }

result<std::string> decode_entities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '&') {
      out.push_back(c);
      ++i;
      continue;
    }
    const auto semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      return fail(errc::protocol, "malformed XML entity reference from the storage server");
    }
    const std::string_view name = text.substr(i + 1, semi - i - 1);
    if (name == "amp") {
      out.push_back('&');
    } else if (name == "lt") {
      out.push_back('<');
    } else if (name == "gt") {
      out.push_back('>');
    } else if (name == "quot") {
      out.push_back('"');
    } else if (name == "apos") {
      out.push_back('\'');
    } else if (name.size() >= 2 && name[0] == '#') {
      const bool is_hex = name[1] == 'x' || name[1] == 'X';
      const std::string_view digits = name.substr(is_hex ? 2 : 1);
      std::uint32_t cp = 0;
      const auto [ptr, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, is_hex ? 16 : 10);
      if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() ||
          cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return fail(errc::protocol, "malformed XML character reference from the storage server");
      }
      append_utf8(out, cp);
    } else {
      return fail(errc::protocol,
                  fmt::format("unknown XML entity '&{};' from the storage server", name));
    }
    i = semi + 1;
  }
  return out;
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace kb::storage::xml
