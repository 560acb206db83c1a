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
	// MoodPlain: none of these: a statement.
	MoodPlain Mood = "plain"
)

// Moods lists every valid mood in a stable order.
var Moods = []Mood{MoodCommand, MoodRequest, MoodVolitional, MoodIntent, MoodQuestion, MoodConditional, MoodNegated, MoodPlain}

// Allow is a phrase inside which no entry fires.
type Allow struct {
	Phrase string
	Pos    Position
}

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
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	s.Version = hex.EncodeToString(h.Sum(nil))[:16]
	return s, nil
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
