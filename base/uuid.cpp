#include "base/uuid.hpp"

#include <algorithm>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace kb {
namespace {

boost::uuids::uuid from_bytes(const uuid_bytes& id) {
  boost::uuids::uuid u{};
  std::copy(id.begin(), id.end(), u.begin());
  return u;
}

}  // namespace

std::string random_uuid_text() {
  // One generator per thread: it is not thread-safe, and seeding it reads the OS entropy source.
  thread_local boost::uuids::random_generator generate;
  return boost::uuids::to_string(generate());
}

std::string uuid_text(const uuid_bytes& id) {
  const auto u = from_bytes(id);
  return u.is_nil() ? std::string() : boost::uuids::to_string(u);
}

std::string uuid_hex(const uuid_bytes& id) {
  std::string out = uuid_text(id);
  std::erase(out, '-');
  return out;
}

}  // namespace kb
