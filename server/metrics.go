package server

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/lexicon"
)

// metrics are kasuhara's own series. No label value ever holds message
// text, ids or matched terms: only labels, categories, reasons and versions.
type metrics struct {
	messages       *prometheus.CounterVec // by label
	rejected       *prometheus.CounterVec // by reason
	duration       prometheus.Histogram
	lexiconEntries *prometheus.GaugeVec // by category
	lexiconInfo    *prometheus.GaugeVec // by version
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kasuhara", Subsystem: "classify", Name: "messages_total",
			Help: "Messages classified, by label.",
		}, []string{"label"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kasuhara", Subsystem: "classify", Name: "rejected_total",
			Help: "Messages refused, by reason: before classification (empty, too_long, invalid_utf8), or given up past the time a message may take (too_slow).",
		}, []string{"reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "kasuhara", Subsystem: "classify", Name: "duration_seconds",
			Help:    "Time to classify one message, from normalisation to label.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		lexiconEntries: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "kasuhara", Subsystem: "lexicon", Name: "entries",
			Help: "Entries in the serving lexicon, by category.",
		}, []string{"category"}),
		lexiconInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "kasuhara", Subsystem: "lexicon", Name: "info",
			Help: "The serving lexicon's version (content hash); always 1.",
		}, []string{"version"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "kasuhara", Name: "build_info",
		Help: "The running binary's version and Go version; always 1.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(Version(), runtime.Version()).Set(1)
	reg.MustRegister(m.messages, m.rejected, m.duration, m.lexiconEntries, m.lexiconInfo, buildInfo)
	for _, l := range []classifier.Label{classifier.Routine, classifier.Escalate, classifier.Harassment} {
		m.messages.WithLabelValues(l.String())
	}
	for _, r := range []string{"empty", "too_long", "invalid_utf8", "too_slow"} {
		m.rejected.WithLabelValues(r)
	}
	return m
}

// setLexicon records the lexicon now serving.
func (m *metrics) setLexicon(s *lexicon.Set) {
	counts := s.Count()
	for _, c := range lexicon.Categories {
		m.lexiconEntries.WithLabelValues(string(c)).Set(float64(counts[c]))
	}
	m.lexiconInfo.Reset()
	m.lexiconInfo.WithLabelValues(s.Version).Set(1)
}

// Version is the module version of the build, or "devel": what
// kasuhara_build_info and `kasuhara version` report.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
