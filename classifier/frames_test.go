package classifier

import (
	"testing"

	"github.com/kasuhara/kasuhara/lexicon"
)

// TestFrames checks each family of frames in the default lexicon on
// messages of its own, in the polite register and the casual one: the
// register never decides the label.
func TestFrames(t *testing.T) {
	c := defaultClassifier(t)
	for _, tc := range []struct {
		family, text string
		want         Label
	}{
		// insults aimed by their target
		{"insult/addressee", "あなたは本当に無能でいらっしゃいますね", Harassment},
		{"insult/addressee", "てめーみたいなボンクラに用はねえよ", Harassment},
		{"insult/staff", "担当の方は頭が悪すぎるのではないでしょうか", Harassment},
		{"insult/vocative", "このヘタレが、さっさと返金しろ", Harassment},
		{"insult/third party", "うちの旦那がほんとにバカで、注文を間違えました", Routine},
		{"insult/product", "この掃除機は最悪の商品です。返品します", Escalate},
		// slurs and groups
		{"slur", "キチガイ店員をよこすな", Harassment},
		{"group/hate", "外国人なんか日本から出ていけ", Harassment},
		{"group/staff asked for", "男性の担当者に代わっていただけますか", Harassment},
		{"group/neutral", "外国人観光客向けの英語の説明書はありますか", Routine},
		// sexual
		{"sexual/explicit", "お姉さん、フェラしてくれたら許すよ", Harassment},
		{"sexual/photo", "オペレーターの方のお写真を送っていただけますか", Harassment},
		{"sexual/measure", "さっきの受付の子、体重何キロ？", Harassment},
		{"sexual/product", "授乳用のブラのサイズ交換をお願いします", Routine},
		// violence
		{"harm/addressee", "お前をぶん殴ってやるからな", Harassment},
		{"harm/noun", "全員八つ裂きにしてやりたい気分です", Harassment},
		{"harm/report", "子供が転んで膝を打ちました。角が鋭すぎます", Routine},
		// veiled threats in keigo
		{"veiled/family", "担当者さんにもご家族がいらっしゃいますよね", Harassment},
		{"veiled/route", "担当の方の帰り道はだいたい存じ上げておりますので", Harassment},
		{"veiled/whatever", "明日までにご返金がなければ、どうなっても責任は持てません", Harassment},
		// persistence
		{"persistence/interval", "お返事があるまで30分おきにお電話させていただきます", Harassment},
		{"persistence/daily announced", "毎日メールしますからね、覚悟してください", Harassment},
		{"persistence/daily resolve", "つながらないので明日またお電話します", Routine},
		{"persistence/daily report", "毎日電話しているのにつながりません", Escalate},
		// coercion
		{"coercion/money", "詫びの印に50万持ってこい", Harassment},
		{"coercion/kowtow", "土下座して謝っていただきたいのですが", Harassment},
		// exposure
		{"exposure/ruin", "この件をSNSで拡散したら御社は終わりですよ", Harassment},
		// escalation frames
		{"escalation/remedy past policy", "三回着たワンピースですが、気に入らないので全額返金してください", Escalate},
		{"escalation/count", "問い合わせるのはこれで四回目です", Escalate},
		{"escalation/came back", "交換品もまた同じ不具合でした", Escalate},
		{"escalation/promise", "明日発送すると言われたのに、まだ届いていません", Escalate},
		{"escalation/refusal", "保証対象外と言われましたが、納得できません", Escalate},
		{"escalation/costs", "返送料はそちらで負担してください", Escalate},
		{"escalation/other customer", "レビューを書いた方の連絡先を教えてください", Escalate},
		{"escalation/handler", "もっと詳しい人から説明してほしいです", Escalate},
		{"escalation/policy question", "開封した後でも返品はできますか", Routine},
		{"escalation/second reminder", "先日の問い合わせの件、2回目のご連絡です。ご確認をお願いします", Routine},
	} {
		r, err := c.Classify(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if r.Label != tc.want {
			t.Errorf("%s: %q is %v, want %v (%v)", tc.family, tc.text, r.Label, tc.want, matchNames(r))
		}
	}
}

// TestToxicityWhateverTarget: the generic toxicity scores insults,
// slurs and sexual words aimed at anyone, where the label does not.
func TestToxicityWhateverTarget(t *testing.T) {
	c := defaultClassifier(t)
	for _, tc := range []struct {
		text string
		cat  lexicon.Category
	}{
		{"あいつは本当にクソ野郎だった", lexicon.Abuse},
		{"隣の客がキチガイみたいに叫んでいた", lexicon.Discrimination},
		{"映画にフェラの場面があって驚いた", lexicon.Sexual},
		{"ニュースで八つ裂きという言葉を聞いた", lexicon.Threat},
	} {
		r, err := c.Classify(tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if r.Toxicity[tc.cat] < 0.5 {
			t.Errorf("%q: toxicity %v, want %s >= 0.5", tc.text, r.Toxicity, tc.cat)
		}
	}
	r, _ := c.Classify("ご丁寧な対応ありがとうございました")
	if len(r.Toxicity) != 0 {
		t.Errorf("thanks: toxicity %v, want none", r.Toxicity)
	}
}

func matchNames(r Result) []string {
	var out []string
	for _, m := range r.Matches {
		out = append(out, string(m.Category)+":"+m.Entry)
	}
	return out
}
