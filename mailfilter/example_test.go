package mailfilter_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/kasuhara/kasuhara/mailfilter"
)

func ExampleFilter_Apply() {
	f := &mailfilter.Filter{Classify: func(_ context.Context, text string) (mailfilter.Verdict, error) {
		// A real ClassifyFunc asks the classifier; this one only shows what
		// it is given: the subject and the sender's own text.
		fmt.Printf("classify %q\n", text)
		if strings.Contains(text, "責任者") {
			return mailfilter.Verdict{Label: "escalate", Score: 0, Categories: []string{"escalation"}, Lexicon: "v1"}, nil
		}
		return mailfilter.Verdict{Label: "routine", Lexicon: "v1"}, nil
	}}
	msg := "Subject: =?UTF-8?B?6L+U6YeR?=\r\n" + // 返金
		"Content-Type: text/plain; charset=UTF-8\r\n" +
		"\r\n" +
		"責任者の方と話したいです。\r\n" +
		"\r\n" +
		"> 返金には一週間かかります。\r\n"
	out, _ := f.Apply(context.Background(), []byte(msg))
	fmt.Print(strings.ReplaceAll(string(out), "\r\n", "\n"))
	// Output:
	// classify "返金\n\n責任者の方と話したいです。"
	// X-Kasuhara-Label: escalate
	// X-Kasuhara-Score: 0
	// X-Kasuhara-Categories: escalation
	// X-Kasuhara-Lexicon: v1
	// Subject: =?UTF-8?B?6L+U6YeR?=
	// Content-Type: text/plain; charset=UTF-8
	//
	// 責任者の方と話したいです。
	//
	// > 返金には一週間かかります。
}

func ExampleOwnText() {
	fmt.Println(mailfilter.OwnText("届いていません。\n\n2024年5月1日(水) 12:00 サポート <support@example.com>:\n> ご注文ありがとうございます。\n"))
	// Output:
	// 届いていません。
}

func ExampleRead() {
	msg := "Subject: =?ISO-2022-JP?B?5q6644GZ?=\r\n" + // UTF-8 labelled ISO-2022-JP: 殺す
		"Content-Type: multipart/mixed; boundary=b\r\n" +
		"\r\n" +
		"--b\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"責任者を出せ。\xff\r\n" + // a stray byte
		"--b\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		"!!!!\r\n" +
		"--b--\r\n"
	text, skipped, err := mailfilter.Read([]byte(msg))
	fmt.Printf("%s\n%v %v\n", text, skipped, err)
	// Output:
	// 殺す
	//
	// 責任者を出せ。�
	// [part 2: bad base64] <nil>
}
