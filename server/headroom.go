package server

import (
	"context"
	"os"
	"runtime"
	"time"
)

// headroom gives the Go scheduler Ps to spare beyond the classify workers
// while the server is loaded, and takes them back once it is not.
//
// Workers keep at most ClassifyCPUs goroutines classifying. With only that
// many Ps, every P runs a classify stretch or the goroutines queued behind
// it, and a goroutine the network poller wakes (a health Check, a /metrics
// scrape, a call to refuse) waits in the global run queue until the local
// ones drain: under 500 concurrent 7.5 KB calls on one CPU a health Check
// waited 0.46 s at p99. With Ps to spare such a goroutine gets one at once
// and the kernel shares the CPUs between its thread and the workers' (p99
// 18 ms). Spare Ps cost the workers about a tenth of their CPU, in threads
// that spin and sleep looking for work, so they are only there while
// needed: while calls are being refused, or while the admitted calls
// waiting for a worker would take longer than queueWait to be served.
type headroom struct {
	base, raised int // GOMAXPROCS without and with headroom
	refusals     func() int64
	queue        func() time.Duration // how long the calls waiting for a worker will take
	set          func(int)            // runtime.GOMAXPROCS, in tests a recorder

	on        bool
	lastRef   int64
	quietFrom time.Time // when the load last called for headroom
}

// Thresholds of headroom.update.
const (
	headroomEvery     = 100 * time.Millisecond // how often the load is looked at
	headroomQueueWait = 20 * time.Millisecond  // a worker queue longer than this calls for headroom
	headroomHold      = 5 * time.Second        // how long headroom stays once the load no longer calls for it
)

// newHeadroom returns the headroom of a server with workers classify
// workers, whose admission and queue report the load; nil when GOMAXPROCS
// is set in the environment, which is left as it is.
func newHeadroom(workers *workers, adm *admission) *headroom {
	if os.Getenv("GOMAXPROCS") != "" {
		return nil
	}
	n := cap(workers.sem)
	return &headroom{
		base: runtime.GOMAXPROCS(0), raised: max(2*n, n+2),
		refusals: adm.refusals.Load, queue: workers.queueTime,
		set: func(n int) { runtime.GOMAXPROCS(n) },
	}
}

// run looks at the load every headroomEvery until ctx ends, then gives the
// runtime its default back.
func (h *headroom) run(ctx context.Context) {
	if h == nil {
		return
	}
	t := time.NewTicker(headroomEvery)
	defer t.Stop()
	defer runtime.SetDefaultGOMAXPROCS()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.update(now)
		}
	}
}

// update raises GOMAXPROCS when calls were refused since the last look or
// the worker queue is longer than headroomQueueWait, and lowers it again
// once neither has been so for headroomHold.
func (h *headroom) update(now time.Time) {
	ref := h.refusals()
	loaded := ref != h.lastRef || h.queue() > headroomQueueWait
	h.lastRef = ref
	switch {
	case loaded:
		h.quietFrom = now
		if !h.on {
			h.on = true
			h.set(h.raised)
		}
	case h.on && now.Sub(h.quietFrom) >= headroomHold:
		h.on = false
		h.set(h.base)
	}
}

// queueTime is how long the messages waiting for a worker will take to
// classify, at the recent mean time a message takes.
func (w *workers) queueTime() time.Duration {
	return time.Duration(w.waiting.Load() * w.meanNanos.Load() / int64(cap(w.sem)))
}

// observe folds one message's classify time into the recent mean: an
// exponential moving average over about 16 messages.
func (w *workers) observe(d time.Duration) {
	m := w.meanNanos.Load()
	w.meanNanos.Store(m + (int64(d)-m)/16)
}
