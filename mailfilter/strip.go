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
func OwnText(body string) string {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case l == "-- " || l == "--":
			return tidyLines(strings.Join(out, "\n"))
		case historyMark.MatchString(l) && historyFollows(lines[i+1:]):
			return tidyLines(strings.Join(out, "\n"))
		case quotedLine.MatchString(l):
			continue
		case attribution.MatchString(l) && quoteFollows(lines[i+1:]):
			continue
		}
		out = append(out, l)
	}
	return tidyLines(strings.Join(out, "\n"))
}

// historyFollows reports whether a header line is among the next three
// non-blank lines.
func historyFollows(rest []string) bool {
	n := 0
	for _, l := range rest {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if historyHeader.MatchString(l) {
			return true
		}
		if n++; n == 3 {
			break
		}
	}
	return false
}

// quoteFollows reports whether the next non-blank line is quoted, or there
// is none.
func quoteFollows(rest []string) bool {
	for _, l := range rest {
		if strings.TrimSpace(l) != "" {
			return quotedLine.MatchString(l)
		}
	}
	return true
}
