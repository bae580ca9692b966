package controller

import (
	"fmt"
	"strconv"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// pitrBound turns an RFC 3339 string or epoch-ms into what kafka-backup's time_window_* accepts
// (both forms are accepted there; the string is passed through, literal).
func pitrBound(text string, ms *int64) any {
	if ms != nil {
		return *ms
	}
	if text == "" {
		return nil
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n
	}
	return escape(text)
}

// restoreConfig renders the kafka-backup YAML of a KafkaRestore; target is the cluster written
// and storage the backup's storage (both resolved by the caller).
func restoreConfig(r *kbv1.KafkaRestore, backupID string, target *kbv1.KafkaClusterSpec, storage *kbv1.StorageSpec,
	w *podWiring) (map[string]any, error) {
	st, err := storageSection(storage, "spec.backupRef.storage", w)
	if err != nil {
		return nil, err
	}
	s := r.Spec
	o := map[string]any{}
	if s.PITR != nil {
		if v := pitrBound(s.PITR.StartTime, s.PITR.StartTimestamp); v != nil {
			o["time_window_start"] = v
		}
		if v := pitrBound(s.PITR.EndTime, s.PITR.EndTimestamp); v != nil {
			o["time_window_end"] = v
		}
	}
	if len(s.TopicMapping) > 0 {
		m := map[string]any{}
		for _, k := range sortedKeys(s.TopicMapping) {
			m[escape(k)] = escape(s.TopicMapping[k])
		}
		o["topic_mapping"] = m
	}
	if len(s.PartitionMapping) > 0 {
		m := map[string]any{}
		for _, k := range sortedKeys(s.PartitionMapping) {
			if _, err := strconv.ParseUint(k, 10, 31); err != nil {
				return nil, fmt.Errorf("spec.partitionMapping key %q is not a partition number", k)
			}
			m[k] = s.PartitionMapping[k]
		}
		o["partition_mapping"] = m
	}
	if len(s.Repartitioning) > 0 {
		m := map[string]any{}
		for _, k := range sortedKeys(s.Repartitioning) {
			rule := s.Repartitioning[k]
			e := map[string]any{"target_partitions": rule.TargetPartitions}
			if rule.Strategy != "" {
				e["strategy"] = rule.Strategy
			}
			m[escape(k)] = e
		}
		o["repartitioning"] = m
	}
	if s.CreateTopics {
		o["create_topics"] = true
	}
	if s.PurgeTopics {
		o["purge_topics"] = true
	}
	if s.ProduceAcks != "" {
		if s.ProduceAcks == "all" {
			o["produce_acks"] = "all"
		} else {
			n, _ := strconv.Atoi(s.ProduceAcks)
			o["produce_acks"] = n
		}
	}
	if s.ProduceTimeoutMs != nil {
		o["produce_timeout_ms"] = *s.ProduceTimeoutMs
	}
	groups := append([]string{}, s.ConsumerGroups...)
	reset := len(groups) > 0
	if s.OffsetReset != nil && s.OffsetReset.Enabled {
		groups = append(groups, s.OffsetReset.ConsumerGroups...)
		reset = true
	}
	if len(groups) > 0 {
		o["consumer_groups"] = escapeAll(groups)
	}
	if reset {
		o["reset_consumer_offsets"] = true
	}
	if s.AutoConsumerGroups {
		o["auto_consumer_groups"] = true
	}
	if rl := s.RateLimiting; rl != nil {
		if rl.BytesPerSec != nil {
			o["rate_limit_bytes_per_sec"] = *rl.BytesPerSec
		}
		if rl.RecordsPerSec != nil {
			o["rate_limit_records_per_sec"] = *rl.RecordsPerSec
		}
	}
	if s.AllowGaps {
		o["allow_gaps"] = true
	}
	if s.DryRun {
		o["dry_run"] = true
	}
	cfg := map[string]any{
		"mode":      "restore",
		"backup_id": escape(backupID),
		"target":    kafkaSection(target, "spec.kafkaCluster", s.Topics, nil, w),
		"storage":   st,
		"restore":   o,
	}
	return cfg, nil
}
