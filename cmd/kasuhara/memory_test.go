package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kasuhara/kasuhara/classifier"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
	"github.com/kasuhara/kasuhara/server"
)

// peakRSS is the kernel's record of a process's peak resident memory
// (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// maxServeRSS is README.md's worst case for kasuhara serve at its
// defaults, whatever clients send ("Limits and overload").
const maxServeRSS = 1 << 30

// TestBinaryMemoryIsBoundedUnderLargeBatches: 48 full-size ClassifyBatch
// calls at once, as large as --max-recv-bytes lets them be, over one
// connection, against the real binary at its defaults. The request byte
// budget lets some be read at a time; the rest wait, unread, for room (and
// are refused RESOURCE_EXHAUSTED if none comes within a second), and the
// server's peak RSS stays under README's bound. (Every one used to be read
// and decoded at once: 60 such calls of 16 MiB took RSS to 2.7 GB.)
func TestBinaryMemoryIsBoundedUnderLargeBatches(t *testing.T) {
	const calls = 48
	s := startServe(t, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "")
	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := kasuharav1.NewClassifierClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Classify(ctx, &kasuharav1.ClassifyRequest{Text: "こんにちは"}); err != nil {
		t.Fatal(err)
	}
	// 256 texts that fill --max-recv-bytes: the server reads and decodes
	// the whole batch, then refuses it at once, without classifying, for
	// carrying more than --max-batch-text-bytes.
	limits := server.Limits{KeepaliveMinTime: server.DefaultKeepaliveMinTime}
	if err := limits.Set(server.DefaultMaxConcurrentStreams, server.DefaultMaxBatch, classifier.DefaultMaxTextBytes, server.DefaultMaxBatchTextBytes); err != nil {
		t.Fatal(err)
	}
	const sentence = "注文した商品が届きません。"
	text := strings.Repeat(sentence, (limits.MaxRecvBytes-128<<10)/server.DefaultMaxBatch/len(sentence))
	batch := &kasuharav1.ClassifyBatchRequest{}
	for range server.DefaultMaxBatch {
		batch.Requests = append(batch.Requests, &kasuharav1.ClassifyRequest{Id: strings.Repeat("i", 512), Text: text})
	}

	answers := refusedAll(t, calls, "batches", "(--max-batch-text-bytes)", "--max-request-bytes", func(int) error {
		_, err := c.ClassifyBatch(ctx, batch)
		return err
	})
	peak := peakRSS(t, s.cmd.Process.Pid)
	t.Logf("%d batches of %d MiB: %v; server peak RSS %d MiB", calls, proto.Size(batch)>>20, answers, peak>>20)
	if peak > maxServeRSS {
		t.Errorf("server peak RSS %d MiB, want under README's %d MiB", peak>>20, maxServeRSS>>20)
	}
	s.stop(t)
}

// TestBinaryMemoryIsBoundedUnderOversizedClassify: --max-in-flight Classify
// calls at once, each as large as --max-recv-bytes lets a request be, over
// two connections, against the real binary at its defaults. grpc-go has
// one receive limit per server, so each is read whole before it is refused
// for its text's size; the limit, derived from the batch text bound, keeps
// that under README's bound. (The limit used to admit a batch of 256 full
// texts, 16.3 MiB: 128 such calls could make the server read 2 GiB.)
// KASUHARA_MAX_RECV_BYTES, if set, is passed as --max-recv-bytes, to show
// what a larger limit does.
func TestBinaryMemoryIsBoundedUnderOversizedClassify(t *testing.T) {
	args := []string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", ""}
	limits := server.Limits{KeepaliveMinTime: server.DefaultKeepaliveMinTime}
	if v := os.Getenv("KASUHARA_MAX_RECV_BYTES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		limits.MaxRecvBytes = n
		args = append(args, "--max-recv-bytes", v)
	}
	if err := limits.Set(server.DefaultMaxConcurrentStreams, server.DefaultMaxBatch, classifier.DefaultMaxTextBytes, server.DefaultMaxBatchTextBytes); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, args...)
	var clients []kasuharav1.ClassifierClient
	for range 2 {
		conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		clients = append(clients, kasuharav1.NewClassifierClient(conn))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Just under the limit once framed: read whole, then refused.
	req := &kasuharav1.ClassifyRequest{Text: strings.Repeat("あ", (limits.MaxRecvBytes-64)/3)}
	calls := server.DefaultMaxInFlight()
	answers := refusedAll(t, calls, "requests", "(--max-text-bytes, and 1 KiB for the id)", "overloaded", func(i int) error {
		_, err := clients[i%2].Classify(ctx, req)
		return err
	})
	peak := peakRSS(t, s.cmd.Process.Pid)
	t.Logf("%d Classify calls of %.1f MiB: %v; server peak RSS %d MiB", calls, float64(proto.Size(req))/(1<<20), answers, peak>>20)
	if peak > maxServeRSS {
		t.Errorf("server peak RSS %d MiB, want under README's %d MiB", peak>>20, maxServeRSS>>20)
	}
	s.stop(t)
}

// refusedAll makes n concurrent calls and counts their answers by code.
// Each must be refused: INVALID_ARGUMENT with a message holding invalid
// (the request was read and judged too large), or RESOURCE_EXHAUSTED with
// one holding exhausted (the server had no room for it); at least one
// must have been read.
func refusedAll(t *testing.T, n int, what, invalid, exhausted string, call func(i int) error) map[codes.Code]int {
	t.Helper()
	var (
		mu      sync.Mutex
		answers = map[codes.Code]int{}
		other   []string
		wg      sync.WaitGroup
	)
	for i := range n {
		wg.Go(func() {
			err := call(i)
			st := status.Convert(err)
			mu.Lock()
			defer mu.Unlock()
			answers[st.Code()]++
			switch {
			case st.Code() == codes.InvalidArgument && strings.Contains(st.Message(), invalid):
			case st.Code() == codes.ResourceExhausted && strings.Contains(st.Message(), exhausted):
			default:
				other = append(other, fmt.Sprint(err))
			}
		})
	}
	wg.Wait()
	if len(other) > 0 {
		t.Errorf("%d calls failed otherwise, e.g. %s", len(other), other[0])
	}
	if answers[codes.InvalidArgument] == 0 {
		t.Errorf("answers %v, want some %s read", answers, what)
	}
	return answers
}
