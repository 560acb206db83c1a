package mailfilter

import (
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
)

func TestDecodeText(t *testing.T) {
	in := func(e encoding.Encoding, s string) string {
		b, err := e.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name, in, declared, want string
	}{
		{"UTF-8 with a stray byte stays UTF-8", "殺すぞ。\xff", "utf-8", "殺すぞ。\uFFFD"},
		{"UTF-8 labelled Shift_JIS is UTF-8", "責任者", "shift_jis", "責任者"},
		{"a lone UTF-8 kanji labelled ISO-8859-1 is UTF-8", "殺", "iso-8859-1", "殺"},
		{"Shift_JIS labelled UTF-8 is Shift_JIS", in(japanese.ShiftJIS, "殺すからな"), "utf-8", "殺すからな"},
		{"half-width katakana in Shift_JIS as labelled", in(japanese.ShiftJIS, "ｺﾛｽ"), "shift_jis", "ｺﾛｽ"},
		{"unlabelled half-width katakana is Shift_JIS", in(japanese.ShiftJIS, "ｺﾛｽｿﾞ"), "", "ｺﾛｽｿﾞ"},
		{"EUC-JP kanji labelled Shift_JIS is EUC-JP", in(japanese.EUCJP, "責任者"), "shift_jis", "責任者"},
		{"EUC-JP kana and kanji unlabelled is EUC-JP", in(japanese.EUCJP, "殺すからな"), "", "殺すからな"},
		{"Shift_JIS labelled EUC-JP is Shift_JIS", in(japanese.ShiftJIS, "責任者"), "euc-jp", "責任者"},
		{"ISO-2022-JP labelled us-ascii is ISO-2022-JP", in(japanese.ISO2022JP, "殺すぞ"), "us-ascii", "殺すぞ"},
		{"French in ISO-8859-1 as labelled", in(charmap.ISO8859_1, "café été à la plage"), "iso-8859-1", "café été à la plage"},
		{"an unknown label is sniffed", in(japanese.ShiftJIS, "殺すからな"), "x-no-such-charset", "殺すからな"},
		{"cp932 is Shift_JIS", in(japanese.ShiftJIS, "ｺﾛｽ"), "CP932", "ｺﾛｽ"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := decodeText([]byte(c.in), c.declared); got != c.want {
				t.Errorf("decodeText(%q, %q) = %q, want %q", c.in, c.declared, got, c.want)
			}
		})
	}
}

func TestDecodeBase64(t *testing.T) {
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"wrapped lines", "5q66\r\n44GZ\r\n", "殺す", true},
		{"missing padding", "5q6644GZ44Ge5q66", "殺すぞ殺", true},
		{"joined pieces past padding", "YQ==Yg==", "ab", true},
		{"a stray character loses the rest of its line only", "5q6644GZ!x\r\n44Ge\r\n", "殺すぞ", false},
		{"a lone last character is bad", "YWJjZ", "abc", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := decodeBase64([]byte(c.in))
			if string(got) != c.want || ok != c.ok {
				t.Errorf("decodeBase64(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}
