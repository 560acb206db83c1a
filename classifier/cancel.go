package classifier

import "context"

// ClassifyContext is Classify that gives up once ctx ends, returning ctx's
// error (context.Canceled or context.DeadlineExceeded) and no result. It
// checks ctx once the text is tokenised and every 64 tokens as it matches
// them against the lexicon: tokenising takes time in proportion to the
// text, which Validate bounds, while matching is where a text can be slow
// out of proportion, so a deadline bounds a call's time however the text
// is made.
func (c *Classifier) ClassifyContext(ctx context.Context, text string) (Result, error) {
	r, _, _, err := c.classifyHitsContext(ctx, text, false)
	return r, err
}
