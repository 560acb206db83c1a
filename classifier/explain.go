package classifier

// Token is one morpheme as the classifier read it, for explanations.
type Token struct {
	Surface string
	// Lemmas are the folded base forms the token matches as; more than one
	// where the classifier re-read an ambiguous analysis.
	Lemmas     []string
	POS        string
	Form       string // conjugation form (活用形), "*" when none
	Imperative bool
	Sentence   int
	// Start and End are half-open code point offsets in the original text.
	Start, End int
}

// Explanation is a Result together with how the text was read.
type Explanation struct {
	Result
	Normalized string
	Tokens     []Token
}

// Explain classifies text and reports the normalised text and its tokens.
func (c *Classifier) Explain(text string) (Explanation, error) {
	r, an, err := c.classify(text, true)
	if err != nil {
		return Explanation{}, err
	}
	x := Explanation{Result: r, Normalized: an.text.String()}
	for _, t := range an.tokens {
		sp := an.text.origSpan(t.start, t.end)
		x.Tokens = append(x.Tokens, Token{
			Surface: t.surface, Lemmas: t.keys, POS: t.pos, Form: t.form,
			Imperative: t.imperative, Sentence: t.sentence, Start: sp.start, End: sp.end,
		})
	}
	return x, nil
}
