package controller

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// kubeSchedule turns a KafkaBackup schedule into the 5-field form a CronJob takes. The OSO form
// has seconds first and a year last ("0 0 */6 * * * *"); a 6-field form has seconds first.
// Seconds must be 0 and the year * (a CronJob cannot express other values).
func kubeSchedule(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "@") {
		if _, err := cron.ParseStandard(s); err != nil {
			return "", fmt.Errorf("spec.schedule %q: %v", s, err)
		}
		return s, nil
	}
	f := strings.Fields(s)
	switch len(f) {
	case 5:
	case 6, 7:
		if f[0] != "0" {
			return "", fmt.Errorf("spec.schedule %q: the seconds field must be 0 (a CronJob runs at minute granularity)", s)
		}
		if len(f) == 7 && f[6] != "*" && f[6] != "?" {
			return "", fmt.Errorf("spec.schedule %q: the year field must be * (a CronJob has no year)", s)
		}
		f = f[1:6]
	default:
		return "", fmt.Errorf("spec.schedule %q has %d fields: use 5 (minute hour day month weekday) or the 7-field form with seconds and year", s, len(f))
	}
	for i := range f {
		if f[i] == "?" {
			f[i] = "*"
		}
	}
	out := strings.Join(f, " ")
	if _, err := cron.ParseStandard(out); err != nil {
		return "", fmt.Errorf("spec.schedule %q is not a valid cron expression: %v", s, err)
	}
	return out, nil
}

// nextRun is when a 5-field schedule fires next after t.
func nextRun(schedule string, t time.Time) (time.Time, bool) {
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return time.Time{}, false
	}
	return sched.Next(t), true
}
