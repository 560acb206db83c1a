package mailfilter

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"
)

// sniffBytes is how much of a text decodeText weighs to choose its charset.
const sniffBytes = 64 << 10

// decodeText returns b as valid UTF-8. Japanese mail is often mislabelled
// (UTF-8 labelled ISO-2022-JP or Shift_JIS, Shift_JIS labelled UTF-8, JIS or
// EUC-JP with no label at all), and a label is the sender's to choose, so it
// is weighed against the bytes:
//
//   - bytes that are UTF-8 Japanese with at most one bad byte in eight
//     such characters are UTF-8, whatever the label says (legacy Japanese
//     encodings almost never form valid UTF-8 sequences);
//   - otherwise b is decoded as the declared charset, UTF-8, Shift_JIS,
//     EUC-JP and, with its escapes present, ISO-2022-JP, and the decoding
//     with the fewest bytes it cannot read wins; on a tie the declared
//     charset, unless another reads clearly more like text (see
//     plausibility).
//
// Every decoding is lenient: bytes it cannot read become U+FFFD and the
// rest is kept. Only the first sniffBytes are weighed.
func decodeText(b []byte, declared string) string {
	if isASCII(b) {
		return string(b)
	}
	sample := b[:min(len(b), sniffBytes)]
	if bad, ja := utf8Damage(sample); ja > 0 && bad*8 <= ja {
		return decodeWith(unicode.UTF8, b)
	}
	cands := make([]encoding.Encoding, 0, 5)
	enc := lookupCharset(declared)
	if enc != nil {
		cands = append(cands, enc)
	}
	cands = append(cands, unicode.UTF8, japanese.ShiftJIS, japanese.EUCJP)
	if bytes.Contains(b, []byte("\x1b$")) || bytes.Contains(b, []byte("\x1b(")) {
		cands = append(cands, japanese.ISO2022JP)
	}
	var best reading
	for i, c := range cands {
		r := judge(decodeWith(c, sample))
		r.enc, r.declared = c, i == 0 && enc != nil
		if i == 0 || r.better(best) {
			best = r
		}
	}
	return decodeWith(best.enc, b)
}

// reading is one decoding of a text, judged.
type reading struct {
	enc      encoding.Encoding
	declared bool
	errors   int // characters that show a byte could not be read
	plaus    int // see plausibility
}

// better reports whether r should be taken over best.
func (r reading) better(best reading) bool {
	switch {
	case r.errors != best.errors:
		return r.errors < best.errors
	case best.declared:
		return r.plaus > best.plaus+4+abs(best.plaus)/4
	}
	return r.plaus > best.plaus
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// utf8Damage counts b's bytes that are not valid UTF-8, and its valid
// UTF-8 characters in the Japanese ranges (kana, kanji, CJK punctuation and
// full-width forms).
func utf8Damage(b []byte) (bad, ja int) {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			bad++
		case isJapanese(r):
			ja++
		}
		b = b[n:]
	}
	return bad, ja
}

// decodeWith decodes b leniently: x/text's decoders replace what they
// cannot read with U+FFFD and go on.
func decodeWith(enc encoding.Encoding, b []byte) string {
	if enc == unicode.UTF8 {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// lookupCharset finds a MIME charset by its IANA name or its WHATWG label
// (which covers x-sjis, windows-31j and the like); nil if it is unknown.
func lookupCharset(name string) encoding.Encoding {
	name = strings.ToLower(strings.TrimSpace(name))
	switch name {
	case "":
		return nil
	case "cp932", "ms932", "x-ms-cp932":
		return japanese.ShiftJIS
	}
	if enc, err := ianaindex.MIME.Encoding(name); err == nil && enc != nil {
		return enc
	}
	if enc, err := htmlindex.Get(name); err == nil {
		return enc
	}
	return nil
}

// judge counts what in s shows a wrong decoding: U+FFFD, control
// characters and private use code points (what decoders make of bytes they
// cannot read, and what a single-byte charset makes of Japanese); and
// scores how much s reads like text: kana three, kanji, CJK punctuation and
// full-width forms two (a wrong decoding of Japanese seldom yields them,
// hiragana least of all), ASCII and accented Latin letters one, and
// half-width katakana (what UTF-8 and EUC-JP read as Shift_JIS are full
// of) nothing.
func judge(s string) reading {
	var r reading
	for _, c := range s {
		switch {
		case c == '\t' || c == '\n' || c == '\r' || c == '\f' || (c >= 0x20 && c < 0x7f):
			r.plaus++
		case c >= 0x3041 && c <= 0x30ff:
			r.plaus += 3
		case isJapanese(c):
			r.plaus += 2
		case c >= 0xc0 && c <= 0x24f && c != 0xd7 && c != 0xf7:
			r.plaus++
		case c == utf8.RuneError, c < 0x20, c >= 0x7f && c < 0xa0, c >= 0xe000 && c <= 0xf8ff:
			r.errors++
		}
	}
	return r
}

// isJapanese reports whether c is kana, a kanji, CJK punctuation or a
// full-width form.
func isJapanese(c rune) bool {
	return (c >= 0x3000 && c <= 0x30ff) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xff01 && c <= 0xff5e)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == 0x1b {
			return false
		}
	}
	return true
}
