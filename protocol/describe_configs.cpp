#include "protocol/describe_configs.hpp"

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  io.array(m.resources, [&](auto& r) {
    io(r.resource_type);
    io(r.resource_name);
    io.nullable_array(r.configuration_keys);
    io.no_tags();
  });
  io(m.include_synonyms);                        // v1+
  if (v >= 3) io(m.include_documentation);       // KIP-569
  io.no_tags();
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  io(m.throttle_time_ms);
  io.array(m.results, [&](auto& res) {
    io(res.error_code);
    io(res.error_message);
    io(res.resource_type);
    io(res.resource_name);
    io.array(res.configs, [&](auto& c) {
      io(c.name);
      io(c.value);
      io(c.read_only);
      io(c.config_source);  // v1+ (replaces IsDefault)
      io(c.is_sensitive);
      io.array(c.synonyms, [&](auto& s) {
        io(s.name);
        io(s.value);
        io(s.source);
        io.no_tags();
      });
      if (v >= 3) {  // KIP-569
        io(c.config_type);
        io(c.documentation);
      }
      io.no_tags();
    });
    io.no_tags();
  });
  io.no_tags();
}

}  // namespace

KB_PROTOCOL_CODEC(describe_configs_request, serde_request, "DescribeConfigsRequest")
KB_PROTOCOL_CODEC(describe_configs_response, serde_response, "DescribeConfigsResponse")

}  // namespace kb::protocol
