package mailfilter

import (
	"regexp"
	"strings"
)

var (
	// quotedLine is a line of a quoted reply: "> ", "＞", "> > ".
	quotedLine = regexp.MustCompile(`^[ \t\x{3000}]*[>＞]`)
	// attribution introduces a quotation: "On …, Taro wrote:",
	// "… 山田様のメッセージ:", "…、山田 <t@example.jp>のメール:",
	// "山田 さんは書きました:", Gmail's "2024年5月1日(水) 12:00 山田 <t@example.jp>:".
	attribution = regexp.MustCompile(`(?i)(wrote|書きました|のメール|様のメッセージ|<[^<>\s]+@[^<>\s]+>)[ \t]*[:：][ \t]*$`)
	// historyMark starts forwarded or original-message history, which runs
	// to the end of the text.
	historyMark = regexp.MustCompile(`(?i)^[ \t]*(` +
		`-{2,}[ \t]*(original message|forwarded message|元のメッセージ|転送メッセージ|転送されたメッセージ|オリジナルメッセージ)[ \t]*-{2,}` +
		`|(begin forwarded message|転送されたメッセージ)[ \t]*[:：]` +
		`|_{10,})[ \t]*$`)
	// historyHeader is a header line such history starts with.
	historyHeader = regexp.MustCompile(`(?i)^[ \t]*(from|sent|date|to|cc|subject|差出人|送信者|送信元|送信日時|日付|日時|宛先|件名)[ \t]*[:：]`)
)

// OwnText returns the lines of a message body its sender wrote. It leaves
// out:
//
//   - quoted lines (starting ">" or "＞");
//   - an attribution line ("… wrote:", "…様のメッセージ:", "…のメール:",
//     "… <addr>:") followed by a quotation or by nothing;
//   - everything from an "-----Original Message-----", "---------- Forwarded
//     message ----------", "-----元のメッセージ-----", "-------- 転送メッセージ
//     --------", "Begin forwarded message:" or Outlook's line of underscores,
//     when a header line (From:, 差出人:, Date:, 件名: …) follows within
//     three lines;
//   - everything from a signature delimiter ("-- " or "--" alone on a line).
//
// An attribution followed by unquoted text is kept: it is more likely the
// sender's own sentence than a quotation.
func OwnText(body string) string { return ownText(body, -1) }

// ownText is OwnText, stopping once it has more than limit bytes of text
// (limit < 0: no limit), as a message's text is cut there anyway. It reads
// line by line without splitting body, so that a body of many short lines
// costs no more memory than its text.
func ownText(body string, limit int) string {
	var out strings.Builder
	blank := true // the last line written was blank, or none was
	for rest, more := body, true; more && (limit < 0 || out.Len() <= limit); {
		var l string
		l, rest, more = strings.Cut(rest, "\n")
		l = strings.TrimSuffix(l, "\r")
		switch {
		case l == "-- " || l == "--":
			return tidyLines(out.String())
		case historyMark.MatchString(l) && historyFollows(rest):
			return tidyLines(out.String())
		case quotedLine.MatchString(l):
			continue
		case attribution.MatchString(l) && quoteFollows(rest):
			continue
		}
		// Written as tidyLines keeps it, so that out.Len() counts what is
		// kept.
		if l = strings.TrimSpace(l); l != "" || !blank {
			out.WriteString(l)
			out.WriteByte('\n')
			blank = l == ""
		}
	}
	return tidyLines(out.String())
}

// nextLines calls f with each line of rest, without its line ending,
// until f returns false.
func nextLines(rest string, f func(line string) bool) {
	for more := true; more; {
		var l string
		l, rest, more = strings.Cut(rest, "\n")
		if !f(strings.TrimSuffix(l, "\r")) {
			return
		}
	}
}

// historyFollows reports whether a header line is among the next three
// non-blank lines.
func historyFollows(rest string) bool {
	found, n := false, 0
	nextLines(rest, func(l string) bool {
		if strings.TrimSpace(l) == "" {
			return true
		}
		found = historyHeader.MatchString(l)
		n++
		return !found && n < 3
	})
	return found
}

// quoteFollows reports whether the next non-blank line is quoted, or there
// is none.
func quoteFollows(rest string) bool {
	quoted := true
	nextLines(rest, func(l string) bool {
		if strings.TrimSpace(l) == "" {
			return true
		}
		quoted = quotedLine.MatchString(l)
		return false
	})
	return quoted
}
