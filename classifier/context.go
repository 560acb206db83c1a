package classifier

import (
	"strings"

	"github.com/kasuhara/kasuhara/lexicon"
)

// Modifier is a reason a match counts for more or less than its entry's
// weight. The sentence around a match decides: whose words they are,
// whether they are denied, and what they are leverage for.
type Modifier string

// ModifierNames returns mods as the strings the APIs and the CLI print.
func ModifierNames(mods []Modifier) []string {
	out := make([]string, len(mods))
	for i, m := range mods {
		out[i] = string(m)
	}
	return out
}

// The modifiers, with the factor or bonus each applies.
const (
	// Quoted: the match is inside 「」, 『』 or quotation marks: someone's
	// words being reported, a title or a name, not the customer's own.
	Quoted Modifier = "quoted"
	// Reported: the match is followed by と言われた, って怒鳴られた, など
	// と言って: reported speech.
	Reported Modifier = "reported"
	// Negated: a negative auxiliary follows the verb (殺さない).
	Negated Modifier = "negated"
	// Hedged: つもりはない, わけではない, 話ではありません govern the match.
	Hedged Modifier = "hedged"
	// Conditional: the harm is promised on a condition (〜しなければ晒す,
	// 遅れたら乗り込む): leverage, that is, coercion.
	Conditional Modifier = "conditional"
	// Intensified: an intent ending follows (〜てやる, 〜ぞ, 〜からな).
	Intensified Modifier = "intensified"
	// Addressed: quoted or reported harassment that the shop's people said
	// to the customer (配達員に「殺すぞ」と言われた). It is not the customer's own,
	// but a complaint about being spoken to that way needs a senior
	// handler: it counts toward escalation at the entry's weight times
	// addressedFactor.
	Addressed Modifier = "addressed"
	// Thanked: an escalation cue the customer thanks the shop for (誠意ある
	// ご対応をありがとうございました): praise, not a demand.
	Thanked Modifier = "thanked"
	// Feared: an escalation cue the customer fears or guards against
	// rather than reports (食中毒が心配で, 怪我をしないように): a question, not
	// an incident.
	Feared Modifier = "feared"
	// Contempt: a coercive command in a message that also insults its
	// reader (金返せクソが): it counts contemptWeight.
	Contempt Modifier = "contempt"
)

const (
	// attenuation multiplies the weight of quoted, reported, negated or
	// hedged matches.
	attenuation = 0.25
	// boost is added to the weight of conditional or intensified matches
	// of harassment categories, up to 1.
	boost = 0.25
	// contextWindow is how many tokens after a match its sentence is read
	// for hedges and reporting verbs.
	contextWindow = 8
	// conditionWindow is how many tokens before a match are read for the
	// condition it is leverage for.
	conditionWindow = 16
	// contemptWeight is what a command with an insult counts toward
	// coercion.
	contemptWeight = 0.8
	// addressedFactor scales what harassment said to the customer counts
	// toward escalation.
	addressedFactor = 0.75
)

// contextOf returns the modifiers that apply to toks[s:e] and its weight
// after them. intent is set for a pattern that required an intent ending
// itself: its weight already counts it. negation is set for an entry whose
// moods name negated: the negation is what it means (後悔なさらないように,
// a warning), so it does not soften the match.
func contextOf(toks []token, s, e int, weight float64, harassment, intent, negation bool) ([]Modifier, float64) {
	var mods []Modifier
	switch {
	case toks[s].quoted && toks[e-1].quoted:
		mods = append(mods, Quoted)
	case reported(toks, e) || reportedQuotation(toks, e):
		mods = append(mods, Reported)
	case harassment && !negation && negated(toks, e):
		// Denials and hedges soften harassment only: 泣き寝入りするつもりは
		// ありません is a resolve, and LABELS keeps a hedged threat followed
		// by a legitimate step escalate.
		mods = append(mods, Negated)
	case harassment && hedged(toks, e):
		mods = append(mods, Hedged)
	}
	if len(mods) > 0 {
		if harassment && (mods[0] == Quoted || mods[0] == Reported) && toldTo(toks, e) && byStaff(toks, s) {
			mods = append(mods, Addressed)
		}
		return mods, weight * attenuation
	}
	if !harassment {
		if thanked(toks, e) {
			return []Modifier{Thanked}, weight * attenuation
		}
		if feared(toks, e) {
			return []Modifier{Feared}, weight * attenuation
		}
		return nil, weight
	}
	if conditional(toks, s) || wantsOrElse(toks, e) {
		mods = append(mods, Conditional)
	}
	if !intent && intensified(toks, e) {
		mods = append(mods, Intensified)
	}
	if len(mods) > 0 {
		weight += boost
		if weight > 1 {
			weight = 1
		}
	}
	return mods, weight
}

// after calls fn on up to n tokens after index e in e-1's sentence until
// fn returns true, and reports whether it did.
func after(toks []token, e, n int, fn func(i int) bool) bool {
	if e == 0 {
		return false
	}
	sentence := toks[e-1].sentence
	for i := e; i < len(toks) && i < e+n && toks[i].sentence == sentence; i++ {
		if fn(i) {
			return true
		}
	}
	return false
}

var sayingVerbs = []string{"言う", "いう", "怒鳴る", "書く", "罵る", "言い放つ", "吐く", "叫ぶ", "言い捨てる", "書き込む", "凄む", "すごむ", "脅す"}

// reported: the match is followed by a quoting particle and a verb of
// saying that is passive or done (〜と言われた, 〜って怒鳴られた, 〜などと
// 言ってしまい): someone's words, told. A present or progressive saying verb
// is the customer insisting (〜って言ってるんだよ), not a report.
func reported(toks []token, e int) bool {
	return after(toks, e, 3, func(i int) bool {
		t := &toks[i]
		if t.surface != "と" && t.surface != "って" && t.surface != "とか" {
			return false
		}
		return after(toks, i+1, 3, func(j int) bool {
			return anyIn(sayingVerbs, toks[j].keys) && toldOrDone(toks, j+1)
		})
	})
}

// reportedQuotation: the match ends inside a quotation that is reported
// once it closes (先輩に『あそこの…は犯罪級』って言われて): what decides the
// match is someone else's words, however far before the closing mark it
// ends and wherever the match began.
func reportedQuotation(toks []token, e int) bool {
	if !toks[e-1].quoted {
		return false
	}
	k := e
	for k < len(toks) && toks[k].quoted && toks[k].sentence == toks[e-1].sentence {
		k++
	}
	return k < len(toks) && !toks[k].quoted && reported(toks, k)
}

// toldTo reports whether the words ending at e were said to the customer:
// a quoting particle and a passive verb of saying follow, past a closing
// bracket (「殺すぞ」と言われた, ボケって怒鳴られました).
func toldTo(toks []token, e int) bool {
	return after(toks, e, 4, func(i int) bool {
		t := &toks[i]
		if t.surface != "と" && t.surface != "って" && t.surface != "など" {
			return false
		}
		return after(toks, i+1, 3, func(j int) bool {
			if !anyIn(sayingVerbs, toks[j].keys) {
				return false
			}
			return after(toks, j+1, 2, func(k int) bool { return toks[k].hasKey("れる") || toks[k].hasKey("られる") })
		})
	})
}

// staffNouns name the shop's people: words they say to a customer are the
// shop's responsibility.
var staffNouns = []string{"配達員", "配達", "ドライバー", "担当", "担当者", "店員", "スタッフ", "オペレーター", "社員",
	"係", "窓口", "電話口", "店長", "責任者", "御社", "そちら", "販売員", "サポート", "作業員", "業者", "従業員"}

// byStaff reports whether the sentence before s names one of the shop's
// people (配達員さんに「…」と言われた), not family or friends (兄に…).
func byStaff(toks []token, s int) bool {
	sentence := toks[s].sentence
	for i := s - 1; i >= 0 && i >= s-conditionWindow && toks[i].sentence <= sentence && toks[i].sentence >= sentence-1; i-- {
		if anyIn(staffNouns, toks[i].keys) {
			return true
		}
	}
	return false
}

// toldOrDone reports whether the verb chain starting at i is passive
// (れる, られる) or completed (た, しまう).
func toldOrDone(toks []token, i int) bool {
	found := false
	after(toks, i, 6, func(j int) bool {
		t := &toks[j]
		switch {
		case t.hasKey("れる") || t.hasKey("られる") || t.hasKey("た") || t.hasKey("しまう") || t.hasKey("ちゃう"):
			found = true
			return true
		case inVerbChain(t) || t.surface == "て" || t.surface == "で":
			return false
		}
		return true
	})
	return found
}

// isNegation reports a negative auxiliary (ない, ぬ, ん of ません) or the
// adjective ない.
func isNegation(t *token) bool {
	if strings.HasPrefix(t.pos, "助動詞") {
		// へん and ひん are the Kansai ない (知らへん, できひん).
		return t.hasKey("ない") || t.hasKey("ぬ") || t.hasKey("ん") || t.hasKey("へん") || t.hasKey("ひん")
	}
	return strings.HasPrefix(t.pos, "形容詞") && t.hasKey("ない")
}

// negated: the verb chain right after the match holds a negation, and is
// not a threat's conditional or desiderative (晒されたくなければ is no
// denial).
func negated(toks []token, e int) bool {
	neg := false
	after(toks, e, 5, func(i int) bool {
		t := &toks[i]
		switch {
		case neg && t.hasKey("と") && i+1 < len(toks) && (toks[i+1].hasKey("思う") || toks[i+1].hasKey("考える")):
			return true // ないと思います: a denial, hedged
		case t.hasKey("たい") || t.hasKey("ば") || t.hasKey("なら") || t.hasKey("と"):
			neg = false
			return true
		case isNegation(t):
			neg = true
		case inVerbChain(t):
		case (t.surface == "で" || t.surface == "じゃ") && i+1 < len(toks) && (toks[i+1].surface == "は" || toks[i+1].surface == "も"),
			(t.surface == "は" || t.surface == "も") && i > e && (toks[i-1].surface == "で" || toks[i-1].surface == "じゃ"):
			// ミスでは|ない: the copula takes は before its negation.
		case t.surface == "か" || t.surface == "?":
			neg = false // 〜ませんか, 〜ないか: a question, not a denial
			return true
		default:
			return true // the chain ended
		}
		return false
	})
	return neg
}

var hedgeNouns = []string{"つもり", "わけ", "訳", "話", "意味", "意図", "気"}

// hedged: a hedge noun topicalised and denied shortly after the match
// (脅すつもりはない, 訴えるとかそういう話ではありません, わけじゃない). The
// topic particle matters: 話にならん is no hedge. The noun may close the
// match itself (an entry 訴えるつもり).
func hedged(toks []token, e int) bool {
	denied := func(i int) bool {
		if !toks[i].noun || !anyIn(hedgeNouns, toks[i].keys) {
			return false
		}
		topic := false
		return after(toks, i+1, 5, func(j int) bool {
			t := &toks[j]
			switch {
			case t.surface == "は" || t.surface == "じゃ" || t.surface == "も":
				topic = true
			case topic && isNegation(t):
				return true
			}
			return false
		})
	}
	return denied(e-1) || after(toks, e, contextWindow, denied)
}

// conditional: earlier in the sentence, within conditionWindow tokens, a
// clause sets a condition (〜なければ, 〜ないなら, 〜たら, 〜しないと,
// 〜しなきゃ, さもないと, 嫌なら, ご回答次第では, いただけない場合は).
func conditional(toks []token, s int) bool {
	sentence := toks[s].sentence
	for i := s - 1; i >= 0 && i >= s-conditionWindow && toks[i].sentence == sentence; i-- {
		t := &toks[i]
		switch {
		case t.surface == "ば" && strings.HasPrefix(t.pos, "助詞"),
			t.surface == "なら" || t.surface == "たら" || t.surface == "だら",
			t.surface == "さもないと" || t.surface == "さもなくば",
			t.surface == "なきゃ" || t.surface == "なけりゃ" || t.surface == "なけりゃあ",
			t.surface == "と" && t.pos == "助詞,接続助詞" && i > 0 && isNegation(&toks[i-1]),
			// ご回答次第では: the answer as the condition.
			t.surface == "次第" && i+1 < len(toks) && toks[i+1].surface == "で",
			// いただけない場合は: a clause, then 場合.
			t.surface == "場合" && i > 0 && (strings.HasPrefix(toks[i-1].pos, "助動詞") || strings.HasPrefix(toks[i-1].pos, "動詞")):
			return true
		}
	}
	return false
}

// wantsOrElse: the match is framed as "if you want / don't want it":
// 晒されたくなければ, 殺されたいのか, 痛い目にあいたいなら.
func wantsOrElse(toks []token, e int) bool {
	want, found := false, false
	after(toks, e, 6, func(i int) bool {
		t := &toks[i]
		switch {
		case t.hasKey("たい"):
			want = true
		case want && (t.surface == "ば" || t.surface == "なら" || t.surface == "か"):
			found = true
			return true
		case !inVerbChain(t) && t.surface != "の" && t.surface != "ん":
			return true
		}
		return false
	})
	return found
}

// inVerbChain reports tokens that continue a verb: auxiliaries, suffixes
// (れる, させる) and dependent verbs (しまう, いる).
func inVerbChain(t *token) bool {
	return strings.HasPrefix(t.pos, "助動詞") || strings.HasPrefix(t.pos, "動詞,接尾") || strings.HasPrefix(t.pos, "動詞,非自立")
}

// intensified: an intent ending follows the match: 〜てやる, 〜ぞ, 〜からな,
// 〜からね, 〜ぜ, and the dialect 〜たる, 〜ちゃる.
func intensified(toks []token, e int) bool {
	return after(toks, e, 4, func(i int) bool {
		t := &toks[i]
		switch {
		case t.surface == "ぞ" || t.surface == "ぜ":
			return true
		case t.hasKey("やる") && i > 0 && (toks[i-1].surface == "て" || toks[i-1].surface == "で"),
			t.surface == "たる" || t.surface == "たろ" || t.surface == "ちゃる": // 燃やしたる, 関西 and 中国 dialect てやる
			return true
		case t.surface == "から" && i+1 < len(toks) && (toks[i+1].surface == "な" || toks[i+1].surface == "ね"):
			return true
		}
		return false
	})
}

// announced reports a statement closed as a warning: the verb chain after
// e ends the sentence with から, ので, ね or よ (毎日電話しますから, 送ります
// ので, かけますね): "so be ready", where a plain ます is a resolve.
func announced(toks []token, e int) bool {
	found := false
	after(toks, e, 5, func(i int) bool {
		t := &toks[i]
		switch {
		case t.surface == "から" || t.surface == "ので" || t.surface == "ね" || t.surface == "よ":
			found = endsPhrase(toks, i) || i+1 < len(toks) && (toks[i+1].surface == "ね" || toks[i+1].surface == "な" || toks[i+1].surface == "よ")
			return true
		case inVerbChain(t):
			return false
		}
		return true
	})
	return found
}

var thanksWords = []string{"ありがとう", "感謝", "助かる", "お礼"}

// thanked: the rest of the sentence thanks for what was matched.
func thanked(toks []token, e int) bool {
	return after(toks, e, contextWindow, func(i int) bool { return anyIn(thanksWords, toks[i].keys) })
}

var worryWords = []string{"心配", "怖い", "こわい", "不安", "恐れ", "懸念", "体質"}

// feared: the rest of the sentence worries about what was matched (食中毒が
// 怖い, 焦げ臭くならないか心配), guards against it (怪我をしないように), or
// tells a tendency rather than an event (蕁麻疹が出やすい, 湿疹が出たことが
// ある).
func feared(toks []token, e int) bool {
	return after(toks, e, contextWindow, func(i int) bool {
		t := &toks[i]
		return anyIn(worryWords, t.keys) ||
			isNegation(t) && i+1 < len(toks) && toks[i+1].hasKey("よう") ||
			strings.HasPrefix(t.pos, "形容詞,非自立") && (t.hasKey("やすい") || t.hasKey("がち")) ||
			t.surface == "がち" ||
			t.hasKey("こと") && i+2 < len(toks) && toks[i+1].surface == "が" && toks[i+2].hasKey("ある")
	})
}

// moodOf reads the mood of the phrase a match ending before toks[e] ends
// (see lexicon.Mood), from the match's last word and the grammar after it
// in its phrase: an order, a request, a proposal, a condition, a denial, a
// question, an announced intent, or a plain statement.
// reportsDone reports a token that makes its phrase a report of something done,
// tried or going on: the past た (電話した), the progressive いる after て
// (電話している, してる), and the concessive も after て (電話しても).
func reportsDone(toks []token, i int) bool {
	t := &toks[i]
	switch {
	case strings.HasPrefix(t.pos, "助動詞") && t.hasKey("た") && t.surface != "たら" && t.surface != "だら":
		return true
	case strings.HasPrefix(t.pos, "動詞,非自立") && (t.hasKey("いる") || t.hasKey("てる")) && i > 0 && (toks[i-1].surface == "て" || toks[i-1].surface == "で"):
		return true
	case t.surface == "てる" || t.surface == "でる":
		return true
	case t.surface == "も" && i > 0 && (toks[i-1].surface == "て" || toks[i-1].surface == "で"):
		return true
	}
	return false
}

// attributive reports a match that ends in a verb or an adjective in the
// form that modifies a noun, right before a content noun: 鳴らす|設定,
// 知って|いる|人. The clause describes the noun; it says nothing itself.
func attributive(toks []token, e int) bool {
	if e >= len(toks) || toks[e].sentence != toks[e-1].sentence || toks[e-1].end != toks[e].start {
		return false
	}
	last, next := &toks[e-1], &toks[e]
	verbal := strings.HasPrefix(last.pos, "動詞") || strings.HasPrefix(last.pos, "形容詞") ||
		strings.HasPrefix(last.pos, "助動詞") && (last.hasKey("た") || last.hasKey("ない"))
	return verbal && (last.form == "基本形" || last.form == "体言接続") &&
		next.noun && !strings.Contains(next.pos, "非自立") && !strings.Contains(next.pos, "接尾") && !strings.Contains(next.pos, "代名詞")
}

// humble reports いただく or もらう after a causative and て (電話させて
// いただきます, 送らせてもらう): the humble form of the speaker's own act,
// not a request, unless asked with the potential (させていただけますか).
func humble(toks []token, i int) bool {
	t := &toks[i]
	if !(t.hasKey("いただく") || t.hasKey("頂く") || t.hasKey("もらう")) || i < 2 || toks[i-1].surface != "て" {
		return false
	}
	c := &toks[i-2]
	return strings.HasPrefix(c.pos, "動詞,接尾") && (c.hasKey("させる") || c.hasKey("せる"))
}

// lightVerb reports する or できる right after a verbal noun (返品|できる):
// the noun's own verb, not a new phrase.
func lightVerb(toks []token, i int) bool {
	return i > 0 && toks[i-1].pos == "名詞,サ変接続" && strings.HasPrefix(toks[i].pos, "動詞,自立") &&
		(toks[i].hasKey("する") || toks[i].hasKey("できる") || toks[i].hasKey("出来る"))
}

func moodOf(toks []token, e int) lexicon.Mood {
	last := &toks[e-1]
	switch {
	case last.prohibitive, last.imperative && !anyIn(politeCommands, last.keys):
		return lexicon.MoodCommand
	case last.imperative:
		return lexicon.MoodRequest
	}
	sentence := last.sentence
	volitional := last.form == "未然ウ接続"
	done := reportsDone(toks, e-1)
	if attributive(toks, e) {
		return lexicon.MoodAttributive
	}
	for i := e; i < len(toks) && i < e+contextWindow && toks[i].sentence == sentence; i++ {
		t := &toks[i]
		switch {
		case humble(toks, i):
			// お電話させていただきます: the speaker's own act, with leave
		case t.imperative && anyIn(politeCommands, t.keys), anyIn(requestVerbs, t.keys) && !strings.HasPrefix(t.pos, "動詞,自立"):
			return lexicon.MoodRequest // 話してください, 送ってほしい, 話してもらえますか
		case t.imperative || t.prohibitive:
			return lexicon.MoodCommand
		case volitional && (t.surface == "う" || t.surface == "よう"), t.form == "未然ウ接続" && i+1 < len(toks) && toks[i+1].surface == "う":
			return lexicon.MoodVolitional // 話そう, 話しましょう
		case t.surface == "ば" && strings.HasPrefix(t.pos, "助詞"), t.surface == "たら" || t.surface == "だら" || t.surface == "なら":
			return lexicon.MoodConditional
		case t.surface == "か" || t.surface == "?" || t.surface == "の" && endsPhrase(toks, i):
			return lexicon.MoodQuestion
		case reportsDone(toks, i):
			done = true // read on: 電話したのか is a question, 電話しました a report
		case strings.HasPrefix(t.pos, "記号"):
			i = len(toks) // the phrase ended
		case lightVerb(toks, i):
			// 返品|できますか, 交換|しますか: the verb a verbal noun takes
			// carries its phrase on.
		case t.noun && !strings.Contains(t.pos, "非自立") && !strings.Contains(t.pos, "接尾"),
			strings.HasPrefix(t.pos, "動詞,自立"), strings.HasPrefix(t.pos, "形容詞,自立"):
			i = len(toks) // a new phrase begins
		}
		volitional = t.form == "未然ウ接続"
	}
	switch {
	case negated(toks, e):
		return lexicon.MoodNegated
	case intensified(toks, e), !done && announced(toks, e):
		return lexicon.MoodIntent
	case done:
		return lexicon.MoodDone
	case e < len(toks) && toks[e].sentence == sentence && toks[e].pos == "助詞,接続助詞" &&
		(toks[e].surface == "て" || toks[e].surface == "で") && endsPhrase(toks, e) && !beforeComma(toks, e):
		return lexicon.MoodRequest // 添い寝して。 (調べて、 links a clause)
	}
	return lexicon.MoodPlain
}
