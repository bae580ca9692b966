// Command kafka-backup-operator runs the kafka.oso.sh controllers: it turns KafkaBackup,
// KafkaRestore, KafkaBackupValidation and KafkaOffsetReset resources into ConfigMaps and
// Jobs/CronJobs/Deployments that run the kafka-backup image.
package main

import (
	"flag"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	kbv1 "github.com/kafka-backup/operator/api/v1alpha1"
	"github.com/kafka-backup/operator/internal/controller"
)

func main() {
	var opts controller.Options
	var metricsAddr, probeAddr string
	var leaderElect bool
	flag.StringVar(&opts.Image, "image", envOr("KAFKA_BACKUP_IMAGE", "kafka-backup:latest"),
		"the kafka-backup image the runs use (env KAFKA_BACKUP_IMAGE)")
	flag.DurationVar(&opts.MinBackoff, "min-backoff", 10*time.Second, "first wait before retrying a failed resource")
	flag.DurationVar(&opts.MaxBackoff, "max-backoff", 5*time.Minute, "longest wait before retrying a failed resource")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "metrics endpoint address; 0 disables it")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "/healthz and /readyz address")
	flag.BoolVar(&leaderElect, "leader-elect", false, "elect a leader (for more than one replica)")
	zopts := zap.Options{}
	zopts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zopts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(kbv1.AddToScheme(scheme))

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "kafka-backup-operator.kafka.oso.sh",
	})
	if err != nil {
		log.Error(err, "cannot create the manager")
		os.Exit(1)
	}
	if err := controller.Setup(mgr, opts); err != nil {
		log.Error(err, "cannot set up the controllers")
		os.Exit(1)
	}
	utilruntime.Must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	utilruntime.Must(mgr.AddReadyzCheck("readyz", healthz.Ping))
	log.Info("starting", "image", opts.Image)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
