package controller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
)

// Labels the operator puts on what it creates.
const (
	labelManagedBy  = "app.kubernetes.io/managed-by"
	labelName       = "app.kubernetes.io/name"
	labelInstance   = "app.kubernetes.io/instance"
	labelComponent  = "app.kubernetes.io/component"
	labelBackup     = "kafka.oso.sh/backup"
	labelRestore    = "kafka.oso.sh/restore"
	labelValidation = "kafka.oso.sh/validation"
	labelRetention  = "kafka.oso.sh/retention"
	managerName     = "kafka-backup-operator"
	configKey       = "config.yaml"
	containerName   = "kafka-backup"
	runUID          = int64(65532)
)

func commonLabels(instance, component string) map[string]string {
	return map[string]string{labelManagedBy: managerName, labelName: "kafka-backup", labelInstance: instance,
		labelComponent: component}
}

// podTemplate is the pod of every run: our image, non-root, read-only root, the config from a
// ConfigMap, Secrets only as secretKeyRef env and read-only volumes.
func podTemplate(image string, ps *kbv1.PodSpec, configMap string, args []string, w *podWiring,
	labels map[string]string, extraEnv []corev1.EnvVar, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	if ps == nil {
		ps = &kbv1.PodSpec{}
	}
	if ps.Image != "" {
		image = ps.Image
	}
	volumes := append([]corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: configMap}}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
			SizeLimit: ptr.To(resource.MustParse("1Gi"))}}},
	}, w.volumes...)
	mounts := append([]corev1.VolumeMount{
		{Name: "config", MountPath: configDir, ReadOnly: true},
		{Name: "tmp", MountPath: tmpDir},
	}, w.mounts...)
	env := append(append([]corev1.EnvVar{}, extraEnv...), w.env...)
	resources := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
	if ps.Resources != nil {
		resources = *ps.Resources
	}
	c := corev1.Container{
		Name:                     containerName,
		Image:                    image,
		ImagePullPolicy:          ps.ImagePullPolicy,
		Args:                     args,
		Env:                      env,
		VolumeMounts:             mounts,
		Resources:                resources,
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			RunAsUser:                ptr.To(runUID),
			RunAsGroup:               ptr.To(runUID),
			ReadOnlyRootFilesystem:   ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	annotations := map[string]string{}
	for k, v := range ps.Annotations {
		annotations[k] = v
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metaWith(labels, annotations),
		Spec: corev1.PodSpec{
			RestartPolicy:                restart,
			ServiceAccountName:           ps.ServiceAccountName,
			AutomountServiceAccountToken: ptr.To(ps.ServiceAccountName != ""),
			HostNetwork:                  ps.HostNetwork,
			NodeName:                     ps.NodeName,
			NodeSelector:                 ps.NodeSelector,
			Tolerations:                  ps.Tolerations,
			SecurityContext:              &corev1.PodSecurityContext{FSGroup: ptr.To(runUID)},
			Containers:                   []corev1.Container{c},
			Volumes:                      volumes,
		},
	}
}
