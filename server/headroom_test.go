package server

import (
	"testing"
	"time"
)

// TestHeadroomFollowsTheLoad: GOMAXPROCS is raised as soon as calls are
// refused or the worker queue grows past headroomQueueWait, stays raised
// while either lasts and for headroomHold after, then comes down. (Ps
// used to equal the workers: under 500 concurrent calls on one CPU a
// health Check waited 0.46 s at p99; and spare Ps held for good cost the
// workers a tenth of their CPU under an ordinary load. make load's
// overload and ratio phases measure both.)
func TestHeadroomFollowsTheLoad(t *testing.T) {
	var refused int64
	var queue time.Duration
	var set []int
	h := &headroom{base: 1, raised: 3, refusals: func() int64 { return refused }, queue: func() time.Duration { return queue },
		set: func(n int) { set = append(set, n) }}
	now := time.Unix(0, 0)
	step := func(what string, want []int) {
		t.Helper()
		now = now.Add(headroomEvery)
		h.update(now)
		if len(set) != len(want) || (len(set) > 0 && set[len(set)-1] != want[len(want)-1]) {
			t.Fatalf("%s: GOMAXPROCS set to %v, want %v", what, set, want)
		}
	}
	step("an idle server", nil)
	queue = headroomQueueWait / 2
	step("a short queue", nil)
	refused++
	step("a call refused", []int{3})
	step("no refusal since, still within the hold", []int{3})
	queue = 2 * headroomQueueWait
	for range int(headroomHold/headroomEvery) + 1 {
		step("a long queue", []int{3})
	}
	queue = 0
	for range int(headroomHold/headroomEvery) - 1 {
		step("quiet, within the hold", []int{3})
	}
	step("quiet for the hold", []int{3, 1})
	step("quiet after", []int{3, 1})
	queue = time.Second
	step("a long queue again", []int{3, 1, 3})
}

// TestWorkersQueueTime: the queue's time is the messages waiting for a
// worker at the recent mean classify time, shared among the workers.
func TestWorkersQueueTime(t *testing.T) {
	w := &workers{sem: make(chan struct{}, 2)}
	for range 64 {
		w.observe(4 * time.Millisecond)
	}
	w.waiting.Store(10)
	if got := w.queueTime(); got < 19*time.Millisecond || got > 20*time.Millisecond {
		t.Errorf("10 waiting for 2 workers at 4 ms a message: %v, want about 20ms", got)
	}
}
