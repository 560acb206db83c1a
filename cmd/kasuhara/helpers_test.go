package main

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// waitFor polls cond until it holds or d passes, and returns its last value.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// heavyText is routine text of about bytes bytes that takes long to classify.
func heavyText(bytes int) string {
	const s = "注文した商品がまだ届きません。返金の手続きはどうなっていますか。責任者から説明してください。"
	return strings.Repeat(s, bytes/len(s))
}

// syncBuffer is a bytes.Buffer that handlers may log to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
