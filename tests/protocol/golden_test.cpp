// Golden bytes from Apache Kafka's own serializers (tests/protocol/golden/messages/*.json, written
// by golden/gen/GenGolden.java from the kafka-clients jar): for every API and version in
// supported_apis, our decoder reads Kafka's request and response bytes (header included), and our
// encoder writes exactly those bytes back. Field checks against the JSON sidecar catch what a
// byte-exact round trip cannot (two same-typed fields read in swapped order).
#include "tests/protocol/golden_common.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "protocol/api_versions.hpp"
#include "protocol/create_topics.hpp"
#include "protocol/delete_records.hpp"
#include "protocol/describe_configs.hpp"
#include "protocol/describe_groups.hpp"
#include "protocol/fetch.hpp"
#include "protocol/find_coordinator.hpp"
#include "protocol/init_producer_id.hpp"
#include "protocol/list_groups.hpp"
#include "protocol/list_offsets.hpp"
#include "protocol/metadata.hpp"
#include "protocol/offset_commit.hpp"
#include "protocol/offset_fetch.hpp"
#include "protocol/produce.hpp"
#include "protocol/sasl_authenticate.hpp"
#include "protocol/sasl_handshake.hpp"

namespace kb::protocol {
namespace {

using namespace golden_fixture;

using J = json::object;

TEST(golden, produce) {
  check_api<produce_request, produce_response>(
      [](const produce_request& m, const J& j) {
        same(j, "transactionalId", m.transactional_id);
        same(j, "acks", m.acks);
        same(j, "timeoutMs", m.timeout_ms);
        each(j, "topicData", m.topic_data, [](const J& t, const produce_request::topic& o) {
          same(t, "name", o.name);
          each(t, "partitionData", o.partition_data,
               [](const J& p, const produce_request::partition& q) { same(p, "index", q.index); });
        });
      },
      [](const produce_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        each(j, "responses", m.responses, [](const J& t, const produce_response::topic& o) {
          same(t, "name", o.name);
          each(t, "partitionResponses", o.partition_responses,
               [](const J& p, const produce_response::partition& q) {
                 same(p, "index", q.index);
                 same(p, "errorCode", q.error_code);
                 same(p, "baseOffset", q.base_offset);
                 same(p, "logAppendTimeMs", q.log_append_time_ms);
                 same(p, "logStartOffset", q.log_start_offset);
                 same(p, "errorMessage", q.error_message);
                 each(p, "recordErrors", q.record_errors,
                      [](const J& e, const produce_response::batch_index_and_error_message& f) {
                        same(e, "batchIndex", f.batch_index);
                        same(e, "batchIndexErrorMessage", f.batch_index_error_message);
                      });
                 if (const auto* c = p.if_contains("currentLeader")) {
                   ASSERT_TRUE(q.current_leader.has_value());
                   same(c->as_object(), "leaderId", q.current_leader->leader_id);
                   same(c->as_object(), "leaderEpoch", q.current_leader->leader_epoch);
                 }
               });
        });
        each(j, "nodeEndpoints", m.node_endpoints,
             [](const J& n, const produce_response::node_endpoint& o) {
               same(n, "nodeId", o.node_id);
               same(n, "host", o.host);
               same(n, "port", o.port);
               same(n, "rack", o.rack);
             });
      });
}

TEST(golden, fetch) {
  check_api<fetch_request, fetch_response>(
      [](const fetch_request& m, const J& j) {
        same(j, "clusterId", m.cluster_id);
        same(j, "replicaId", m.replica_id);
        if (const auto* r = j.if_contains("replicaState")) {
          ASSERT_TRUE(m.replica_state.has_value());
          same(r->as_object(), "replicaId", m.replica_state->replica_id);
          same(r->as_object(), "replicaEpoch", m.replica_state->replica_epoch);
        }
        same(j, "maxWaitMs", m.max_wait_ms);
        same(j, "minBytes", m.min_bytes);
        same(j, "maxBytes", m.max_bytes);
        same(j, "isolationLevel", static_cast<std::int64_t>(m.isolation));
        same(j, "sessionId", m.session_id);
        same(j, "sessionEpoch", m.session_epoch);
        same(j, "rackId", m.rack_id);
        each(j, "topics", m.topics, [](const J& t, const fetch_request::topic& o) {
          same(t, "topic", o.topic);
          same(t, "topicId", o.topic_id);
          each(t, "partitions", o.partitions, [](const J& p, const fetch_request::partition& q) {
            same(p, "partition", q.partition);
            same(p, "currentLeaderEpoch", q.current_leader_epoch);
            same(p, "fetchOffset", q.fetch_offset);
            same(p, "lastFetchedEpoch", q.last_fetched_epoch);
            same(p, "logStartOffset", q.log_start_offset);
            same(p, "partitionMaxBytes", q.partition_max_bytes);
            if (const auto* d = p.if_contains("replicaDirectoryId")) {
              ASSERT_TRUE(q.replica_directory_id.has_value());
              EXPECT_EQ(str(*d), uuid_text(*q.replica_directory_id));
            }
          });
        });
        each(j, "forgottenTopicsData", m.forgotten_topics_data,
             [](const J& t, const fetch_request::forgotten_topic& o) {
               same(t, "topic", o.topic);
               same(t, "topicId", o.topic_id);
               each(t, "partitions", o.partitions);
             });
      },
      [](const fetch_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        same(j, "errorCode", m.error_code);
        same(j, "sessionId", m.session_id);
        each(j, "responses", m.responses, [](const J& t, const fetch_response::topic& o) {
          same(t, "topic", o.topic);
          same(t, "topicId", o.topic_id);
          each(t, "partitions", o.partitions, [](const J& p, const fetch_response::partition& q) {
            same(p, "partitionIndex", q.partition_index);
            same(p, "errorCode", q.error_code);
            same(p, "highWatermark", q.high_watermark);
            same(p, "lastStableOffset", q.last_stable_offset);
            same(p, "logStartOffset", q.log_start_offset);
            same(p, "preferredReadReplica", q.preferred_read_replica);
            if (const auto* d = p.if_contains("divergingEpoch")) {
              ASSERT_TRUE(q.diverging_epoch.has_value());
              same(d->as_object(), "epoch", q.diverging_epoch->epoch);
              same(d->as_object(), "endOffset", q.diverging_epoch->end_offset);
            }
            if (const auto* c = p.if_contains("currentLeader")) {
              ASSERT_TRUE(q.current_leader.has_value());
              same(c->as_object(), "leaderId", q.current_leader->leader_id);
              same(c->as_object(), "leaderEpoch", q.current_leader->leader_epoch);
            }
            if (const auto* n = p.if_contains("snapshotId")) {
              ASSERT_TRUE(q.snapshot_id.has_value());
              same(n->as_object(), "endOffset", q.snapshot_id->end_offset);
              same(n->as_object(), "epoch", q.snapshot_id->epoch);
            }
            if (q.aborted_transactions)
              each(p, "abortedTransactions", *q.aborted_transactions,
                   [](const J& a, const fetch_response::aborted_transaction& b) {
                     same(a, "producerId", b.producer_id);
                     same(a, "firstOffset", b.first_offset);
                   });
            ASSERT_TRUE(q.records.has_value());
            EXPECT_GT(q.records->size(), 61u);  // one v2 batch header and a record
          });
        });
        each(j, "nodeEndpoints", m.node_endpoints,
             [](const J& n, const fetch_response::node_endpoint& o) {
               same(n, "nodeId", o.node_id);
               same(n, "host", o.host);
               same(n, "port", o.port);
               same(n, "rack", o.rack);
             });
      });
}

TEST(golden, list_offsets) {
  check_api<list_offsets_request, list_offsets_response>(
      [](const list_offsets_request& m, const J& j) {
        same(j, "replicaId", m.replica_id);
        same(j, "isolationLevel", m.isolation_level);
        each(j, "topics", m.topics, [](const J& t, const list_offsets_request::topic& o) {
          same(t, "name", o.name);
          each(t, "partitions", o.partitions,
               [](const J& p, const list_offsets_request::partition& q) {
                 same(p, "partitionIndex", q.partition_index);
                 same(p, "currentLeaderEpoch", q.current_leader_epoch);
                 same(p, "timestamp", q.timestamp);
               });
        });
      },
      [](const list_offsets_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        each(j, "topics", m.topics, [](const J& t, const list_offsets_response::topic& o) {
          same(t, "name", o.name);
          each(t, "partitions", o.partitions,
               [](const J& p, const list_offsets_response::partition& q) {
                 same(p, "partitionIndex", q.partition_index);
                 same(p, "errorCode", q.error_code);
                 same(p, "timestamp", q.timestamp);
                 same(p, "offset", q.offset);
                 same(p, "leaderEpoch", q.leader_epoch);
               });
        });
      });
}

TEST(golden, metadata) {
  check_api<metadata_request, metadata_response>(
      [](const metadata_request& m, const J& j) {
        same(j, "allowAutoTopicCreation", m.allow_auto_topic_creation);
        same(j, "includeClusterAuthorizedOperations", m.include_cluster_authorized_operations);
        same(j, "includeTopicAuthorizedOperations", m.include_topic_authorized_operations);
        ASSERT_TRUE(m.topics.has_value());
        each(j, "topics", *m.topics, [](const J& t, const metadata_request::topic& o) {
          same(t, "topicId", o.topic_id);
          same(t, "name", o.name);
        });
      },
      [](const metadata_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        same(j, "clusterId", m.cluster_id);
        same(j, "controllerId", m.controller_id);
        same(j, "clusterAuthorizedOperations", m.cluster_authorized_operations);
        same(j, "errorCode", m.error_code);
        each(j, "brokers", m.brokers, [](const J& b, const metadata_response::broker& o) {
          same(b, "nodeId", o.node_id);
          same(b, "host", o.host);
          same(b, "port", o.port);
          same(b, "rack", o.rack);
        });
        each(j, "topics", m.topics, [](const J& t, const metadata_response::topic& o) {
          same(t, "errorCode", o.error_code);
          same(t, "name", o.name);
          same(t, "topicId", o.topic_id);
          same(t, "isInternal", o.is_internal);
          same(t, "topicAuthorizedOperations", o.topic_authorized_operations);
          each(t, "partitions", o.partitions, [](const J& p, const metadata_response::partition& q) {
            same(p, "errorCode", q.error_code);
            same(p, "partitionIndex", q.partition_index);
            same(p, "leaderId", q.leader_id);
            same(p, "leaderEpoch", q.leader_epoch);
            each(p, "replicaNodes", q.replica_nodes);
            each(p, "isrNodes", q.isr_nodes);
            each(p, "offlineReplicas", q.offline_replicas);
          });
        });
      });
}

TEST(golden, offset_commit) {
  check_api<offset_commit_request, offset_commit_response>(
      [](const offset_commit_request& m, const J& j) {
        same(j, "groupId", m.group_id);
        same(j, "generationIdOrMemberEpoch", m.generation_id_or_member_epoch);
        same(j, "memberId", m.member_id);
        same(j, "groupInstanceId", m.group_instance_id);
        same(j, "retentionTimeMs", m.retention_time_ms);
        each(j, "topics", m.topics, [](const J& t, const offset_commit_request::topic& o) {
          same(t, "name", o.name);
          each(t, "partitions", o.partitions,
               [](const J& p, const offset_commit_request::partition& q) {
                 same(p, "partitionIndex", q.partition_index);
                 same(p, "committedOffset", q.committed_offset);
                 same(p, "committedLeaderEpoch", q.committed_leader_epoch);
                 same(p, "committedMetadata", q.committed_metadata);
               });
        });
      },
      [](const offset_commit_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        each(j, "topics", m.topics, [](const J& t, const offset_commit_response::topic& o) {
          same(t, "name", o.name);
          each(t, "partitions", o.partitions,
               [](const J& p, const offset_commit_response::partition& q) {
                 same(p, "partitionIndex", q.partition_index);
                 same(p, "errorCode", q.error_code);
               });
        });
      });
}

void offset_fetch_topics(const J& j, const std::vector<offset_fetch_response::topic>& topics) {
  each(j, "topics", topics, [](const J& t, const offset_fetch_response::topic& o) {
    same(t, "name", o.name);
    each(t, "partitions", o.partitions, [](const J& p, const offset_fetch_response::partition& q) {
      same(p, "partitionIndex", q.partition_index);
      same(p, "committedOffset", q.committed_offset);
      same(p, "committedLeaderEpoch", q.committed_leader_epoch);
      same(p, "metadata", q.metadata);
      same(p, "errorCode", q.error_code);
    });
  });
}

TEST(golden, offset_fetch) {
  auto topics = [](const J& j, const std::optional<std::vector<offset_fetch_request::topic>>& ts) {
    if (const auto* f = j.if_contains("topics"); f != nullptr && f->is_null()) {
      EXPECT_FALSE(ts.has_value());
      return;
    }
    ASSERT_TRUE(ts.has_value());
    each(j, "topics", *ts, [](const J& t, const offset_fetch_request::topic& o) {
      same(t, "name", o.name);
      each(t, "partitionIndexes", o.partition_indexes);
    });
  };
  check_api<offset_fetch_request, offset_fetch_response>(
      [&](const offset_fetch_request& m, const J& j) {
        same(j, "groupId", m.group_id);
        same(j, "requireStable", m.require_stable);
        if (j.contains("topics")) topics(j, m.topics);
        each(j, "groups", m.groups, [&](const J& g, const offset_fetch_request::group& o) {
          same(g, "groupId", o.group_id);
          same(g, "memberId", o.member_id);
          same(g, "memberEpoch", o.member_epoch);
          topics(g, o.topics);
        });
      },
      [](const offset_fetch_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        same(j, "errorCode", m.error_code);
        offset_fetch_topics(j, m.topics);
        each(j, "groups", m.groups, [](const J& g, const offset_fetch_response::group& o) {
          same(g, "groupId", o.group_id);
          same(g, "errorCode", o.error_code);
          offset_fetch_topics(g, o.topics);
        });
      });
}

TEST(golden, find_coordinator) {
  check_api<find_coordinator_request, find_coordinator_response>(
      [](const find_coordinator_request& m, const J& j) {
        same(j, "key", m.key_value);
        same(j, "keyType", m.key_type);
        each(j, "coordinatorKeys", m.coordinator_keys);
      },
      [](const find_coordinator_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        same(j, "errorCode", m.error_code);
        same(j, "errorMessage", m.error_message);
        same(j, "nodeId", m.node_id);
        same(j, "host", m.host);
        same(j, "port", m.port);
        each(j, "coordinators", m.coordinators,
             [](const J& c, const find_coordinator_response::coordinator& o) {
               same(c, "key", o.key);
               same(c, "nodeId", o.node_id);
               same(c, "host", o.host);
               same(c, "port", o.port);
               same(c, "errorCode", o.error_code);
               same(c, "errorMessage", o.error_message);
             });
      });
}

TEST(golden, describe_groups) {
  check_api<describe_groups_request, describe_groups_response>(
      [](const describe_groups_request& m, const J& j) {
        each(j, "groups", m.groups);
        same(j, "includeAuthorizedOperations", m.include_authorized_operations);
      },
      [](const describe_groups_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        each(j, "groups", m.groups, [](const J& g, const describe_groups_response::group& o) {
          same(g, "errorCode", o.error_code);
          same(g, "groupId", o.group_id);
          same(g, "groupState", o.group_state);
          same(g, "protocolType", o.protocol_type);
          same(g, "protocolData", o.protocol_data);
          same(g, "authorizedOperations", o.authorized_operations);
          each(g, "members", o.members, [](const J& e, const describe_groups_response::member& f) {
            same(e, "memberId", f.member_id);
            same(e, "groupInstanceId", f.group_instance_id);
            same(e, "clientId", f.client_id);
            same(e, "clientHost", f.client_host);
            same(e, "memberMetadata", f.member_metadata);
            same(e, "memberAssignment", f.member_assignment);
          });
        });
      });
}

TEST(golden, list_groups) {
  check_api<list_groups_request, list_groups_response>(
      [](const list_groups_request& m, const J& j) {
        each(j, "statesFilter", m.states_filter);
        each(j, "typesFilter", m.types_filter);
      },
      [](const list_groups_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        same(j, "errorCode", m.error_code);
        each(j, "groups", m.groups, [](const J& g, const list_groups_response::group& o) {
          same(g, "groupId", o.group_id);
          same(g, "protocolType", o.protocol_type);
          same(g, "groupState", o.group_state);
          same(g, "groupType", o.group_type);
        });
      });
}

TEST(golden, sasl_handshake) {
  check_api<sasl_handshake_request, sasl_handshake_response>(
      [](const sasl_handshake_request& m, const J& j) { same(j, "mechanism", m.mechanism); },
      [](const sasl_handshake_response& m, const J& j) {
        same(j, "errorCode", m.error_code);
        each(j, "mechanisms", m.mechanisms);
      });
}

TEST(golden, api_versions) {
  check_api<api_versions_request, api_versions_response>(
      [](const api_versions_request& m, const J& j) {
        same(j, "clientSoftwareName", m.client_software_name);
        same(j, "clientSoftwareVersion", m.client_software_version);
      },
      [](const api_versions_response& m, const J& j) {
        same(j, "errorCode", m.error_code);
        same(j, "throttleTimeMs", m.throttle_time_ms);
        each(j, "apiKeys", m.api_keys, [](const J& k, const api_version_range& r) {
          same(k, "apiKey", r.api_key);
          same(k, "minVersion", r.min_version);
          same(k, "maxVersion", r.max_version);
        });
        each(j, "supportedFeatures", m.supported_features,
             [](const J& f, const api_versions_response::supported_feature& o) {
               same(f, "name", o.name);
               same(f, "minVersion", o.min_version);
               same(f, "maxVersion", o.max_version);
             });
        if (m.finalized_features_epoch) same(j, "finalizedFeaturesEpoch", *m.finalized_features_epoch);
        each(j, "finalizedFeatures", m.finalized_features,
             [](const J& f, const api_versions_response::finalized_feature& o) {
               same(f, "name", o.name);
               same(f, "maxVersionLevel", o.max_version_level);
               same(f, "minVersionLevel", o.min_version_level);
             });
        if (m.zk_migration_ready) same(j, "zkMigrationReady", *m.zk_migration_ready);
      });
}

TEST(golden, create_topics) {
  check_api<create_topics_request, create_topics_response>(
      [](const create_topics_request& m, const J& j) {
        same(j, "timeoutMs", m.timeout_ms);
        same(j, "validateOnly", m.validate_only);
        each(j, "topics", m.topics, [](const J& t, const create_topics_request::topic& o) {
          same(t, "name", o.name);
          same(t, "numPartitions", o.num_partitions);
          same(t, "replicationFactor", o.replication_factor);
          each(t, "assignments", o.assignments,
               [](const J& a, const create_topics_request::assignment& b) {
                 same(a, "partitionIndex", b.partition_index);
                 each(a, "brokerIds", b.broker_ids);
               });
          each(t, "configs", o.configs, [](const J& c, const create_topics_request::config& d) {
            same(c, "name", d.name);
            same(c, "value", d.value);
          });
        });
      },
      [](const create_topics_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        each(j, "topics", m.topics, [](const J& t, const create_topics_response::topic& o) {
          same(t, "name", o.name);
          same(t, "topicId", o.topic_id);
          same(t, "errorCode", o.error_code);
          same(t, "errorMessage", o.error_message);
          if (o.topic_config_error_code) same(t, "topicConfigErrorCode", *o.topic_config_error_code);
          same(t, "numPartitions", o.num_partitions);
          same(t, "replicationFactor", o.replication_factor);
          if (o.configs)
            each(t, "configs", *o.configs, [](const J& c, const create_topics_response::config& d) {
              same(c, "name", d.name);
              same(c, "value", d.value);
              same(c, "readOnly", d.read_only);
              same(c, "configSource", d.config_source);
              same(c, "isSensitive", d.is_sensitive);
            });
        });
      });
}

TEST(golden, delete_records) {
  check_api<delete_records_request, delete_records_response>(
      [](const delete_records_request& m, const J& j) {
        same(j, "timeoutMs", m.timeout_ms);
        each(j, "topics", m.topics, [](const J& t, const delete_records_request::topic& o) {
          same(t, "name", o.name);
          each(t, "partitions", o.partitions,
               [](const J& p, const delete_records_request::partition& q) {
                 same(p, "partitionIndex", q.partition_index);
                 same(p, "offset", q.offset);
               });
        });
      },
      [](const delete_records_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        each(j, "topics", m.topics, [](const J& t, const delete_records_response::topic& o) {
          same(t, "name", o.name);
          each(t, "partitions", o.partitions,
               [](const J& p, const delete_records_response::partition& q) {
                 same(p, "partitionIndex", q.partition_index);
                 same(p, "lowWatermark", q.low_watermark);
                 same(p, "errorCode", q.error_code);
               });
        });
      });
}

TEST(golden, init_producer_id) {
  check_api<init_producer_id_request, init_producer_id_response>(
      [](const init_producer_id_request& m, const J& j) {
        same(j, "transactionalId", m.transactional_id);
        same(j, "transactionTimeoutMs", m.transaction_timeout_ms);
        same(j, "producerId", m.producer_id);
        same(j, "producerEpoch", m.producer_epoch);
      },
      [](const init_producer_id_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        same(j, "errorCode", m.error_code);
        same(j, "producerId", m.producer_id);
        same(j, "producerEpoch", m.producer_epoch);
      });
}

TEST(golden, describe_configs) {
  check_api<describe_configs_request, describe_configs_response>(
      [](const describe_configs_request& m, const J& j) {
        same(j, "includeSynonyms", m.include_synonyms);
        same(j, "includeDocumentation", m.include_documentation);
        each(j, "resources", m.resources, [](const J& r, const describe_configs_request::resource& o) {
          same(r, "resourceType", o.resource_type);
          same(r, "resourceName", o.resource_name);
          ASSERT_TRUE(o.configuration_keys.has_value());
          each(r, "configurationKeys", *o.configuration_keys);
        });
      },
      [](const describe_configs_response& m, const J& j) {
        same(j, "throttleTimeMs", m.throttle_time_ms);
        each(j, "results", m.results, [](const J& r, const describe_configs_response::result_entry& o) {
          same(r, "errorCode", o.error_code);
          same(r, "errorMessage", o.error_message);
          same(r, "resourceType", o.resource_type);
          same(r, "resourceName", o.resource_name);
          each(r, "configs", o.configs, [](const J& c, const describe_configs_response::config& d) {
            same(c, "name", d.name);
            same(c, "value", d.value);
            same(c, "readOnly", d.read_only);
            same(c, "configSource", d.config_source);
            same(c, "isSensitive", d.is_sensitive);
            same(c, "configType", d.config_type);
            same(c, "documentation", d.documentation);
            each(c, "synonyms", d.synonyms, [](const J& y, const describe_configs_response::synonym& z) {
              same(y, "name", z.name);
              same(y, "value", z.value);
              same(y, "source", z.source);
            });
          });
        });
      });
}

TEST(golden, sasl_authenticate) {
  check_api<sasl_authenticate_request, sasl_authenticate_response>(
      [](const sasl_authenticate_request& m, const J& j) { same(j, "authBytes", m.auth_bytes); },
      [](const sasl_authenticate_response& m, const J& j) {
        same(j, "errorCode", m.error_code);
        same(j, "errorMessage", m.error_message);
        same(j, "sessionLifetimeMs", m.session_lifetime_ms);
        same(j, "authBytes", m.auth_bytes);
      });
}

}  // namespace
}  // namespace kb::protocol
