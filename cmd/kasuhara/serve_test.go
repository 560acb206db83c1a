package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/kasuhara/kasuhara/server"
)

func TestServeLimitFlagsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero concurrent streams would refuse every call", []string{"--max-concurrent-streams", "0"}, "--max-concurrent-streams 0, want 1 to"},
		{"negative receive limit", []string{"--max-recv-bytes", "-1"}, "--max-recv-bytes -1, want >= 0"},
		{"negative in-flight limit", []string{"--max-in-flight", "-1"}, "--max-in-flight -1, want >= 0"},
		{"keepalive min time must be positive", []string{"--keepalive-min-time", "0s"}, "--keepalive-min-time 0s, want > 0"},
		{"negative idle time", []string{"--max-connection-idle", "-1s"}, "--max-connection-idle -1s, want >= 0"},
		{"negative stream idle time", []string{"--stream-idle-timeout", "-1s"}, "--stream-idle-timeout -1s, want >= 0"},
		{"negative request byte budget", []string{"--max-request-bytes", "-1"}, "--max-request-bytes -1, want >= 0"},
		{"a budget too small for the largest request", []string{"--max-request-bytes", "1000"}, "--max-request-bytes 1000, want >= 4521984"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			err := runServe(context.Background(), append(tt.args, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", ""), nil, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestServeListensOnLoopbackByDefault: without --grpc-addr and --http-addr
// serve is reachable from this host only, and -h says how to widen it. (It
// used to listen on every interface, :50051 and :9090.)
func TestServeListensOnLoopbackByDefault(t *testing.T) {
	var stderr strings.Builder
	runServe(context.Background(), []string{"-h"}, nil, io.Discard, &stderr) // -h only prints the flags
	help := stderr.String()
	for _, want := range []string{`-grpc-addr HOST:PORT`, `(default "127.0.0.1:50051")`, `-http-addr HOST:PORT`, `(default "127.0.0.1:9090")`,
		"e.g. :50051 for every interface", "e.g. :9090 for every interface"} {
		if !strings.Contains(help, want) {
			t.Errorf("serve -h lacks %q:\n%s", want, help)
		}
	}
	if server.DefaultGRPCAddr != "127.0.0.1:50051" || server.DefaultHTTPAddr != "127.0.0.1:9090" {
		t.Errorf("defaults %s and %s, want loopback", server.DefaultGRPCAddr, server.DefaultHTTPAddr)
	}
}
