#include "protocol/fetch.hpp"

#include <type_traits>

#include "protocol/serde.hpp"

namespace kb::protocol {
namespace {

template <class IO, class M>
void serde_request(IO& io, M& m, std::int16_t v) {
  if (v <= 14) io(m.replica_id);  // v15+ moves it into ReplicaState (KIP-903)
  io(m.max_wait_ms);
  io(m.min_bytes);
  io(m.max_bytes);  // v3+
  if constexpr (std::is_const_v<M>) {
    io(static_cast<std::int8_t>(m.isolation));  // v4+
  } else {
    std::int8_t level = 0;
    io(level);
    m.isolation = static_cast<isolation_level>(level);
  }
  if (v >= 7) {  // KIP-227 fetch sessions
    io(m.session_id);
    io(m.session_epoch);
  }
  io.array(m.topics, [&](auto& t) {
    if (v <= 12) io(t.topic);
    if (v >= 13) io(t.topic_id);  // KIP-516
    io.array(t.partitions, [&](auto& p) {
      io(p.partition);
      if (v >= 9) io(p.current_leader_epoch);  // KIP-320
      io(p.fetch_offset);
      if (v >= 12) io(p.last_fetched_epoch);  // KIP-595
      if (v >= 5) io(p.log_start_offset);
      io(p.partition_max_bytes);
      if (v >= 17) {
        io.tags([&](auto& tag) { tag(0, p.replica_directory_id); });  // KIP-853
      } else {
        io.no_tags();
      }
    });
    io.no_tags();
  });
  if (v >= 7) {
    io.array(m.forgotten_topics_data, [&](auto& t) {
      if (v <= 12) io(t.topic);
      if (v >= 13) io(t.topic_id);
      io.array(t.partitions);
      io.no_tags();
    });
  }
  if (v >= 11) io(m.rack_id);  // KIP-392
  io.tags([&](auto& tag) {
    tag(0, m.cluster_id);
    if (v >= 15) {
      tag(1, m.replica_state, [](auto& sub, auto& rs) {
        sub(rs.replica_id);
        sub(rs.replica_epoch);
        sub.no_tags();
      });
    }
  });
}

template <class IO, class M>
void serde_response(IO& io, M& m, std::int16_t v) {
  io(m.throttle_time_ms);  // v1+
  if (v >= 7) {
    io(m.error_code);
    io(m.session_id);
  }
  io.array(m.responses, [&](auto& t) {
    if (v <= 12) io(t.topic);
    if (v >= 13) io(t.topic_id);  // KIP-516
    io.array(t.partitions, [&](auto& p) {
      io(p.partition_index);
      io(p.error_code);
      io(p.high_watermark);
      io(p.last_stable_offset);  // v4+
      if (v >= 5) io(p.log_start_offset);
      io.nullable_array(p.aborted_transactions, [&](auto& a) {
        io(a.producer_id);
        io(a.first_offset);
        io.no_tags();
      });
      if (v >= 11) io(p.preferred_read_replica);
      io(p.records);
      io.tags([&](auto& tag) {
        tag(0, p.diverging_epoch, [](auto& sub, auto& e) {
          sub(e.epoch);
          sub(e.end_offset);
          sub.no_tags();
        });
        tag(1, p.current_leader, [](auto& sub, auto& l) {
          sub(l.leader_id);
          sub(l.leader_epoch);
          sub.no_tags();
        });
        tag(2, p.snapshot_id, [](auto& sub, auto& s) {
          sub(s.end_offset);
          sub(s.epoch);
          sub.no_tags();
        });
      });
    });
    io.no_tags();
  });
  io.tags([&](auto& tag) {
    if (v >= 16) {
      tag(0, m.node_endpoints, [](auto& sub, auto& n) {  // KIP-951
        sub(n.node_id);
        sub(n.host);
        sub(n.port);
        sub(n.rack);
        sub.no_tags();
      });
    }
  });
}

}  // namespace

KB_PROTOCOL_CODEC(fetch_request, serde_request, "FetchRequest")
KB_PROTOCOL_CODEC(fetch_response, serde_response, "FetchResponse")

}  // namespace kb::protocol
