// Package verdict gives a mailfilter.Filter its ClassifyFunc: in-process
// with a classifier.Classifier (Local), or through a kasuhara gRPC server
// (Remote), each mapping what it gets to a mailfilter.Verdict the same way.
//
// It does not read mail (package mailfilter does), run a milter (package
// mailfilter/milter) or read flags (cmd/kasuhara does).
package verdict

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/kasuhara/kasuhara/classifier"
	"github.com/kasuhara/kasuhara/mailfilter"
	kasuharav1 "github.com/kasuhara/kasuhara/proto/kasuhara/v1"
)

// Local classifies in-process with c.
func Local(c *classifier.Classifier) mailfilter.ClassifyFunc {
	return func(_ context.Context, text string) (mailfilter.Verdict, error) {
		r, err := c.Classify(text)
		if err != nil {
			return mailfilter.Verdict{}, err
		}
		return OfResult(r), nil
	}
}

// RemoteOptions says how Remote reaches its server.
type RemoteOptions struct {
	// APIKey, when set, is sent as authorization: Bearer on every call.
	APIKey string
	// Timeout bounds each call; it must be > 0.
	Timeout time.Duration
}

// Remote classifies through the kasuhara gRPC server at addr (HOST:PORT),
// whose thresholds and lexicon then decide. close releases the connection.
func Remote(addr string, o RemoteOptions) (classify mailfilter.ClassifyFunc, close func(), err error) {
	if o.Timeout <= 0 {
		return nil, nil, fmt.Errorf("timeout %v, want > 0", o.Timeout)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	client := kasuharav1.NewClassifierClient(conn)
	classify = func(ctx context.Context, text string) (mailfilter.Verdict, error) {
		ctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		if o.APIKey != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+o.APIKey)
		}
		resp, err := client.Classify(ctx, &kasuharav1.ClassifyRequest{Text: text})
		if err != nil {
			return mailfilter.Verdict{}, fmt.Errorf("classify on %s: %w", addr, err)
		}
		return OfResponse(resp)
	}
	return classify, func() { conn.Close() }, nil
}

// ReadAPIKey returns the first key in the file at path, read as kasuhara
// serve reads --api-key-file: blank lines and # comments are skipped.
func ReadAPIKey(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return line, nil
		}
	}
	return "", fmt.Errorf("%s: no key, want one a line", path)
}

// OfResult is the verdict for an in-process result.
func OfResult(r classifier.Result) mailfilter.Verdict {
	scores := make(map[string]float64, len(r.Categories))
	for c, s := range r.Categories {
		scores[string(c)] = s
	}
	return mailfilter.Verdict{Label: r.Label.String(), Score: r.Score, Categories: byScore(scores), Lexicon: r.LexiconVersion}
}

// OfResponse is the verdict for a server's answer, which must carry a
// label.
func OfResponse(resp *kasuharav1.ClassifyResponse) (mailfilter.Verdict, error) {
	l := classifier.Label(resp.GetLabel())
	if l <= classifier.LabelUnspecified || l > classifier.Harassment {
		return mailfilter.Verdict{}, fmt.Errorf("server answered label %v, want routine|escalate|harassment", resp.GetLabel())
	}
	return mailfilter.Verdict{Label: l.String(), Score: resp.GetScore(), Categories: byScore(resp.GetCategoryScores()), Lexicon: resp.GetLexiconVersion()}, nil
}

// byScore lists category names, highest score first, then by name.
func byScore(scores map[string]float64) []string {
	names := make([]string, 0, len(scores))
	for n := range scores {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if scores[names[i]] != scores[names[j]] {
			return scores[names[i]] > scores[names[j]]
		}
		return names[i] < names[j]
	})
	return names
}
