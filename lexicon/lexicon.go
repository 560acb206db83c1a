// Package lexicon reads the files analysts edit: YAML lists of threatening,
// coercive, abusive and escalation phrases, each with a weight.
//
// A lexicon is a directory; every *.yaml file in it is loaded. A file names
// its category and lists entries:
//
//	category: threat
//	description: Violence and harm to people or property.
//	entries:
//	  - pattern: 殺す
//	    weight: 1.0
//	    variants: [ぶっ殺す]
//	    examples: [お前を殺してやる]
//	    counter_examples: [殺虫剤はありますか]
//	allow:
//	  - 死ぬほど
//	substitutions:
//	  - {from: 氏ね, to: 死ね}
//
// Load validates everything (unknown keys, categories, weights, duplicates)
// and returns an immutable Set. Patterns are written as natural Japanese;
// this package keeps them as text, and the classifier compiles them through
// the same normaliser and tokeniser it applies to messages.
//
// It owns the file format, its validation and the embedded default lexicon,
// which Dump copies into a directory to start a custom one.
// It does not compile or match patterns (package classifier does), and
// imports no gRPC, protobuf or HTTP.
package lexicon

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Category is the kind of behaviour an entry detects.
type Category string

// The categories a lexicon file may name. All but Escalation are harassment
// categories: enough weight in them labels a message harassment.
const (
	Threat         Category = "threat"
	Exposure       Category = "exposure"
	Coercion       Category = "coercion"
	Abuse          Category = "abuse"
	Discrimination Category = "discrimination"
	Sexual         Category = "sexual"
	Personal       Category = "personal"
	Persistence    Category = "persistence"
	Escalation     Category = "escalation"
)

// Categories lists every valid category in a stable order.
var Categories = []Category{Threat, Exposure, Coercion, Abuse, Discrimination, Sexual, Personal, Persistence, Escalation}

// Harassment reports whether c is a harassment category (every category
// except Escalation).
func (c Category) Harassment() bool { return c != Escalation }

// Valid reports whether c is one of Categories.
func (c Category) Valid() bool {
	for _, k := range Categories {
		if c == k {
			return true
		}
	}
	return false
}

// Position is where something was written: a file inside the lexicon
// directory and a 1-based line.
type Position struct {
	File string
	Line int
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Entry is one pattern an analyst wrote.
type Entry struct {
	Category Category
	// Pattern is the entry's name and its main phrase.
	Pattern string
	// Variants are other phrasings that count as the same entry.
	Variants []string
	// Weight in [0,1]: how strongly one match counts toward Category.
	Weight float64
	Note   string
	// Examples are messages the entry must match; CounterExamples are
	// messages it must not.
	Examples        []string
	CounterExamples []string
	// Moods, when set, are the moods the phrase a match ends may be in;
	// a match in another mood is refused (see Mood). Empty accepts any.
	Moods []Mood
	Pos   Position
}

// Phrases returns the pattern followed by its variants.
func (e Entry) Phrases() []string {
	return append([]string{e.Pattern}, e.Variants...)
}

// Mood is the mood of the phrase a match ends, read from its grammar:
// what the customer is doing with the words.
type Mood string

// The moods an entry may name.
const (
	// MoodCommand: an order or a prohibition (辞めろ, 消えてしまえ, 逆らうな).
	MoodCommand Mood = "command"
	// MoodRequest: asking (消えてください, 添い寝して, 送ってほしい).
	MoodRequest Mood = "request"
	// MoodVolitional: proposing or resolving to (話そう, 会いましょう).
	MoodVolitional Mood = "volitional"
	// MoodIntent: announcing with an intent ending (殺すぞ, 晒してやる).
	MoodIntent Mood = "intent"
	// MoodQuestion: asking a question (行かない？, 会えるの, 空いてますか).
	MoodQuestion Mood = "question"
	// MoodConditional: a condition (辞めちまえば, 晒したら).
	MoodConditional Mood = "conditional"
	// MoodNegated: denied (殺さない).
	MoodNegated Mood = "negated"
	// MoodDone: reported as done, tried or going on, not announced
	// (電話しました, 電話している, 電話しても).
	MoodDone Mood = "done"
	// MoodAttributive: a clause that describes the noun after it, not a
	// statement (鳴らす設定, 住所を知っている人).
	MoodAttributive Mood = "attributive"
	// MoodPlain: none of these: a statement.
	MoodPlain Mood = "plain"
)

// Moods lists every valid mood in a stable order.
var Moods = []Mood{MoodCommand, MoodRequest, MoodVolitional, MoodIntent, MoodQuestion, MoodConditional, MoodNegated, MoodDone, MoodAttributive, MoodPlain}

// Allow is a phrase inside which no entry fires.
type Allow struct {
	Phrase string
	Pos    Position
}

// Class is a word class: a named set of words a pattern stands for with
// {name} (insults, staff, body parts). A pattern over classes is a frame:
// {addressee}…{insult} is any insult aimed at the reader, written once.
type Class struct {
	Name        string
	Description string
	// Words are the members, each a word or short phrase written as
	// natural Japanese, matched as pattern words are (every conjugation,
	// kana spellings by reading). A word {other} takes in every member of
	// class other.
	Words []string
	// Category is the category of the file the class is written in, or
	// empty for a file without one.
	Category Category
	// Toxicity in [0,1], set only in a file with a category: how toxic a
	// word of the class is whatever it is aimed at. It feeds the generic
	// toxicity scores (Result.Toxicity), never the label.
	Toxicity float64
	// Examples are messages in which some word of the class must be
	// found; CounterExamples are messages in which none may be.
	Examples        []string
	CounterExamples []string
	Pos             Position
}

// BuiltinClasses are the word classes the classifier defines itself, by
// grammar rather than by a list: {number} (a numeral), {many} (a numeral
// of three or more), {lots} (ten or more), {command} (a verb in the command
// mood), {adjective} (an adjective or adjectival noun) and {exclaim} (an
// exclamation mark or doubled question marks). A lexicon may not define
// classes of these names.
var BuiltinClasses = []string{"adjective", "command", "exclaim", "lots", "many", "number"}

// Substitution rewrites an obfuscated spelling before tokenising (氏ね → 死ね).
type Substitution struct {
	From, To string
	Pos      Position
}

// File is one loaded lexicon file.
type File struct {
	Name        string
	Category    Category // empty for files that only hold allow phrases
	Description string
}

// Set is a validated lexicon. It is immutable once loaded.
type Set struct {
	// Version is a content hash of every file: the same files give the same
	// version wherever they are loaded.
	Version       string
	Files         []File
	Entries       []Entry
	Allow         []Allow
	Substitutions []Substitution
	Classes       []Class
}

// Class returns the class called name, if the set defines one.
func (s *Set) Class(name string) (Class, bool) {
	for _, c := range s.Classes {
		if c.Name == name {
			return c, true
		}
	}
	return Class{}, false
}

// Count returns the number of entries per category.
func (s *Set) Count() map[Category]int {
	n := make(map[Category]int, len(Categories))
	for _, e := range s.Entries {
		n[e.Category]++
	}
	return n
}

// Error is a problem at a position in a lexicon file.
type Error struct {
	Pos Position
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// ErrNoFiles is returned when a lexicon directory holds no *.yaml file.
var ErrNoFiles = errors.New("no *.yaml files")

//go:embed default/*.yaml
var defaultFS embed.FS

// DefaultFS returns the files of the embedded default lexicon.
func DefaultFS() fs.FS {
	sub, err := fs.Sub(defaultFS, "default")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Default loads the embedded default lexicon.
func Default() (*Set, error) {
	s, err := Load(DefaultFS())
	if err != nil {
		return nil, fmt.Errorf("load default lexicon: %w", err)
	}
	return s, nil
}

// LoadDir loads every *.yaml file in dir.
func LoadDir(dir string) (*Set, error) {
	s, err := Load(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("load lexicon %s: %w", dir, err)
	}
	return s, nil
}

// Load loads every *.yaml file at the root of fsys. It reports every problem
// it finds, joined; each is an *Error naming file and line.
func Load(fsys fs.FS) (*Set, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, ErrNoFiles
	}
	sort.Strings(names)
	h := sha256.New()
	s := &Set{}
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path.Base(name), len(data))
		h.Write(data)
		f, ferrs := parseFile(name, data, s)
		errs = append(errs, ferrs...)
		s.Files = append(s.Files, f)
	}
	errs = append(errs, checkDuplicates(s)...)
	errs = append(errs, checkClasses(s)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s.Version = hex.EncodeToString(h.Sum(nil))[:16]
	return s, nil
}

// classRef finds the {name} class references in a phrase.
var classRef = regexp.MustCompile(`\{([^{}]*)\}`)

// className is what a class name may be: lower-case ASCII words joined by
// underscores.
var className = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ClassRefs returns the names of the classes phrase refers to with {name},
// in order.
func ClassRefs(phrase string) []string {
	var out []string
	for _, m := range classRef.FindAllStringSubmatch(phrase, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkClasses reports classes defined twice or under a builtin's name,
// references to classes nobody defined (in entries, allow phrases and
// class words), and classes that take themselves in.
func checkClasses(s *Set) []error {
	var errs []error
	defined := map[string]*Class{}
	for i := range s.Classes {
		c := &s.Classes[i]
		switch {
		case slices.Contains(BuiltinClasses, c.Name):
			errs = append(errs, &Error{c.Pos, fmt.Sprintf("class %q is builtin; choose another name", c.Name)})
		case defined[c.Name] != nil:
			errs = append(errs, &Error{c.Pos, fmt.Sprintf("class %q defined twice, first at %s", c.Name, defined[c.Name].Pos)})
		default:
			defined[c.Name] = c
		}
	}
	known := func(name string) bool { return defined[name] != nil || slices.Contains(BuiltinClasses, name) }
	unknown := func(pos Position, phrase string) {
		for _, name := range ClassRefs(phrase) {
			if !known(name) {
				errs = append(errs, &Error{pos, fmt.Sprintf("phrase %q uses class {%s}, which no file defines", phrase, name)})
			}
		}
	}
	for _, e := range s.Entries {
		for _, p := range e.Phrases() {
			unknown(e.Pos, p)
		}
	}
	for _, a := range s.Allow {
		unknown(a.Pos, a.Phrase)
	}
	for i := range s.Classes {
		c := &s.Classes[i]
		for _, w := range c.Words {
			for _, name := range ClassRefs(w) {
				switch {
				case slices.Contains(BuiltinClasses, name):
					errs = append(errs, &Error{c.Pos, fmt.Sprintf("class %q takes in builtin {%s}; a class lists words", c.Name, name)})
				case !known(name):
					errs = append(errs, &Error{c.Pos, fmt.Sprintf("class %q takes in {%s}, which no file defines", c.Name, name)})
				case w != "{"+name+"}":
					errs = append(errs, &Error{c.Pos, fmt.Sprintf("class %q word %q: a class is taken in as a word of its own, {%s}", c.Name, w, name)})
				}
			}
		}
	}
	// A class that takes itself in, directly or not, has no end.
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, path []string) bool
	visit = func(name string, path []string) bool {
		switch state[name] {
		case 1:
			errs = append(errs, &Error{defined[name].Pos, fmt.Sprintf("class %q takes itself in: %s", name, strings.Join(append(path, name), " → "))})
			return false
		case 2:
			return true
		}
		state[name] = 1
		for _, w := range defined[name].Words {
			if refs := ClassRefs(w); len(refs) == 1 && defined[refs[0]] != nil {
				if !visit(refs[0], append(path, name)) {
					state[name] = 2
					return false
				}
			}
		}
		state[name] = 2
		return true
	}
	for _, c := range s.Classes {
		if defined[c.Name] != nil && state[c.Name] == 0 {
			visit(c.Name, nil)
		}
	}
	return errs
}

// ClassWords returns the words of class name with every class it takes in
// expanded, each word once, in order. It assumes Load checked the set.
func (s *Set) ClassWords(name string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if seen["{"+name+"}"] {
			return
		}
		seen["{"+name+"}"] = true
		c, ok := s.Class(name)
		if !ok {
			return
		}
		for _, w := range c.Words {
			if refs := ClassRefs(w); len(refs) == 1 && w == "{"+refs[0]+"}" {
				walk(refs[0])
				continue
			}
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	walk(name)
	return out
}

// checkDuplicates reports phrases written twice in one category, and allow
// phrases and substitutions written twice.
func checkDuplicates(s *Set) []error {
	var errs []error
	type key struct {
		c Category
		p string
	}
	seen := map[key]Position{}
	for _, e := range s.Entries {
		for _, p := range e.Phrases() {
			k := key{e.Category, strings.TrimSpace(p)}
			if first, ok := seen[k]; ok {
				errs = append(errs, &Error{e.Pos, fmt.Sprintf("duplicate %s phrase %q, first at %s", e.Category, p, first)})
				continue
			}
			seen[k] = e.Pos
		}
	}
	allowSeen := map[string]Position{}
	for _, a := range s.Allow {
		if first, ok := allowSeen[a.Phrase]; ok {
			errs = append(errs, &Error{a.Pos, fmt.Sprintf("duplicate allow phrase %q, first at %s", a.Phrase, first)})
			continue
		}
		allowSeen[a.Phrase] = a.Pos
	}
	subSeen := map[string]Position{}
	for _, sub := range s.Substitutions {
		if first, ok := subSeen[sub.From]; ok {
			errs = append(errs, &Error{sub.Pos, fmt.Sprintf("duplicate substitution from %q, first at %s", sub.From, first)})
			continue
		}
		subSeen[sub.From] = sub.Pos
	}
	return errs
}
