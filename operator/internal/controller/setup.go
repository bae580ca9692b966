package controller

import (
	ctrl "sigs.k8s.io/controller-runtime"
)

// Setup registers every controller with the manager.
func Setup(mgr ctrl.Manager, opts Options) error {
	if err := (&KafkaBackupReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("kafka-backup-operator"), Options: opts}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&KafkaRestoreReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("kafka-backup-operator"), Options: opts}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&KafkaBackupValidationReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("kafka-backup-operator"), Options: opts}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&KafkaOffsetResetReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("kafka-backup-operator"), Options: opts}).SetupWithManager(mgr)
}
