package classifier

import "github.com/kasuhara/kasuhara/lexicon"

// Token is one morpheme as the classifier read it, for explanations.
type Token struct {
	Surface string
	// Lemmas are the folded base forms the token matches as; more than one
	// where the classifier re-read an ambiguous analysis.
	Lemmas     []string
	POS        string
	Form       string // conjugation form (活用形), "*" when none
	Imperative bool
	// Classes are the lexicon's word classes the token is a one-word
	// member of, by name.
	Classes  []string
	Sentence int
	// Start and End are half-open code point offsets in the original text.
	Start, End int
}

// Explanation is a Result together with how the text was read.
type Explanation struct {
	Result
	Normalized string
	Tokens     []Token
	// Moods are, by match (as Result.Matches), the mood of the phrase the
	// match ends: what an entry's moods are checked against.
	Moods []lexicon.Mood
}

// Explain classifies text and reports the normalised text and its tokens.
func (c *Classifier) Explain(text string) (Explanation, error) {
	r, an, hits, err := c.classifyHits(text, true)
	if err != nil {
		return Explanation{}, err
	}
	x := Explanation{Result: r, Normalized: an.text.String()}
	for _, h := range hits {
		x.Moods = append(x.Moods, moodOf(an.tokens, h.end))
	}
	byBit := make([]string, maxMasked)
	for name, cs := range c.classes {
		if cs.bit >= 0 {
			byBit[cs.bit] = name
		}
	}
	for i := range an.tokens {
		t := &an.tokens[i]
		sp := an.text.origSpan(t.start, t.end)
		tok := Token{
			Surface: t.surface, Lemmas: t.keys, POS: t.pos, Form: t.form,
			Imperative: t.imperative, Sentence: t.sentence, Start: sp.start, End: sp.end,
		}
		for b := range maxMasked {
			if t.classes.has(b) {
				tok.Classes = append(tok.Classes, byBit[b])
			}
		}
		x.Tokens = append(x.Tokens, tok)
	}
	return x, nil
}
