package classifier

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// endsAfter is a context that reports itself cancelled from its n+1st
// call of Err on, and counts the calls.
type endsAfter struct {
	context.Context
	n, calls atomic.Int64
}

func (c *endsAfter) Err() error {
	if c.calls.Add(1) > c.n.Load() {
		return context.Canceled
	}
	return nil
}

func TestClassifyContext(t *testing.T) {
	c := defaultClassifier(t)
	long := strings.Repeat("注文した商品がまだ届きません。責任者を出せ。殺すぞ。", 200)

	t.Run("a live context gives what Classify gives", func(t *testing.T) {
		want, err := c.Classify(long)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.ClassifyContext(context.Background(), long)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ClassifyContext = %v, %v; want %v as Classify gives", got.Label, err, want.Label)
		}
	})
	t.Run("an ended context stops before matching", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.ClassifyContext(ctx, long); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("a context that ends while matching stops it", func(t *testing.T) {
		ctx := &endsAfter{Context: context.Background()}
		ctx.n.Store(3) // live for the first checks of find, then over
		if _, err := c.ClassifyContext(ctx, long); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		// Matching checks every 64 tokens: the text has thousands, so a
		// call that saw the end at once made a handful of checks, not one
		// per 64 tokens of the whole text.
		if got := ctx.calls.Load(); got != 5 {
			t.Errorf("ctx.Err called %d times, want 5: three live, the fourth ends find, the fifth the call", got)
		}
	})
	t.Run("a deadline is an error the caller can tell", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
		defer cancel()
		if _, err := c.ClassifyContext(ctx, long); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("the scratch it used serves the next call whole", func(t *testing.T) {
		want, _ := c.Classify("殺すぞ")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c.ClassifyContext(ctx, long)
		if got, err := c.Classify("殺すぞ"); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("after a stopped call: %v, %v; want %v", got.Label, err, want.Label)
		}
	})
}
