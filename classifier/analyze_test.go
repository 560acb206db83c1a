package classifier

import (
	"strings"
	"testing"
	"unsafe"
)

// TestCachedWordsKeepNoMessageText: the descriptions the Analyzer keeps for
// known words for the life of the process hold their own copies of the
// strings they took from a message, never slices of the message's text.
func TestCachedWordsKeepNoMessageText(t *testing.T) {
	a, err := NewAnalyzer() // a fresh cache: these tokens fill it
	if err != nil {
		t.Fatal(err)
	}
	an := a.analyze("秘密の注文番号を教えてください。"+strings.Repeat("あ", 10), nil, nil)
	n := 0
	for _, tok := range an.tokens {
		if !tok.lexical.cached {
			continue
		}
		n++
		for _, s := range append([]string{tok.spelling, tok.reading}, tok.lexical.keys...) {
			if s != "" && unsafe.StringData(s) == unsafe.StringData(tok.surface) {
				t.Errorf("%q: the cached description shares the message's text (%q)", tok.surface, s)
			}
		}
	}
	if n == 0 {
		t.Fatal("no known word in the text")
	}
}
