package v1alpha1

// GetRunStatus gives the operator's controllers the status part every run-a-Job kind shares.

// GetRunStatus is the phase and conditions of the backup's runs.
func (in *KafkaBackup) GetRunStatus() *RunStatus { return &in.Status.RunStatus }

// GetRunStatus is the phase and conditions of the restore's run.
func (in *KafkaRestore) GetRunStatus() *RunStatus { return &in.Status.RunStatus }

// GetRunStatus is the phase and conditions of the validation's run.
func (in *KafkaBackupValidation) GetRunStatus() *RunStatus { return &in.Status.RunStatus }

// GetRunStatus is the phase and conditions of the offset reset's run.
func (in *KafkaOffsetReset) GetRunStatus() *RunStatus { return &in.Status.RunStatus }
