package lexicon

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// parser walks one file's YAML tree, collecting every problem with its line
// instead of stopping at the first.
type parser struct {
	file string
	errs []error
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{Position{p.file, line}, fmt.Sprintf(format, args...)})
}

func (p *parser) pos(n *yaml.Node) Position { return Position{p.file, n.Line} }

var fileKeys = []string{"category", "description", "entries", "classes", "allow", "substitutions"}
var classKeys = []string{"name", "description", "words", "toxicity", "examples", "counter_examples"}
var substitutionKeys = []string{"from", "to"}
var entryKeys = []string{"pattern", "weight", "variants", "note", "examples", "counter_examples", "moods"}

// parseFile parses one file into f, adding its entries, allow phrases and
// substitutions to s.
func parseFile(name string, data []byte, s *Set) (File, []error) {
	p := &parser{file: name}
	f := File{Name: name}
	if !utf8.Valid(data) {
		p.errf(&yaml.Node{Line: 1}, "file is not valid UTF-8")
		return f, p.errs
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.errs = append(p.errs, &Error{Position{name, yamlErrLine(err)}, "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
		return f, p.errs
	}
	if len(doc.Content) == 0 {
		p.errf(&yaml.Node{Line: 1}, "empty file; expect a mapping with %s", strings.Join(fileKeys, ", "))
		return f, p.errs
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errf(root, "top level is a %s; expect a mapping with %s", kindName(root), strings.Join(fileKeys, ", "))
		return f, p.errs
	}
	var entriesNode, classesNode, allowNode, subsNode, categoryNode *yaml.Node
	p.mapping(root, fileKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "category":
			categoryNode = k
			if c, ok := p.str(v, "category"); ok {
				f.Category = Category(c)
				if !f.Category.Valid() {
					p.errf(v, "unknown category %q; expect %s", c, categoryList())
				}
			}
		case "description":
			f.Description, _ = p.str(v, "description")
		case "entries":
			entriesNode = v
		case "classes":
			classesNode = v
		case "allow":
			allowNode = v
		case "substitutions":
			subsNode = v
		}
	})
	if entriesNode != nil {
		if categoryNode == nil {
			p.errf(entriesNode, "entries without a category; add category: %s", categoryList())
		}
		for _, n := range p.seq(entriesNode, "entries") {
			if e, ok := p.entry(n, f.Category); ok {
				s.Entries = append(s.Entries, e)
			}
		}
	} else if categoryNode != nil && classesNode == nil {
		p.errf(categoryNode, "category without entries or classes")
	}
	if classesNode != nil {
		for _, n := range p.seq(classesNode, "classes") {
			if c, ok := p.class(n, f.Category); ok {
				s.Classes = append(s.Classes, c)
			}
		}
	}
	if allowNode != nil {
		for _, n := range p.seq(allowNode, "allow") {
			if ph, ok := p.phrase(n, "allow phrase"); ok {
				s.Allow = append(s.Allow, Allow{Phrase: ph, Pos: p.pos(n)})
			}
		}
	}
	if subsNode != nil {
		for _, n := range p.seq(subsNode, "substitutions") {
			if sub, ok := p.substitution(n); ok {
				s.Substitutions = append(s.Substitutions, sub)
			}
		}
	}
	if entriesNode == nil && classesNode == nil && allowNode == nil && subsNode == nil {
		p.errf(root, "nothing to load; expect entries (with a category), classes, allow or substitutions")
	}
	return f, p.errs
}

func (p *parser) entry(n *yaml.Node, c Category) (Entry, bool) {
	e := Entry{Category: c, Pos: p.pos(n), Weight: math.NaN()}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "entry is a %s; expect a mapping with %s", kindName(n), strings.Join(entryKeys, ", "))
		return e, false
	}
	before := len(p.errs)
	p.mapping(n, entryKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "pattern":
			e.Pattern, _ = p.phrase(v, "pattern")
		case "weight":
			e.Weight = p.weight(v)
		case "variants":
			e.Variants = p.phrases(v, "variants")
		case "note":
			e.Note, _ = p.str(v, "note")
		case "examples":
			e.Examples = p.phrases(v, "examples")
		case "counter_examples":
			e.CounterExamples = p.phrases(v, "counter_examples")
		case "moods":
			e.Moods = p.moods(v)
		}
	})
	if e.Pattern == "" && len(p.errs) == before {
		p.errf(n, "entry has no pattern")
	}
	if math.IsNaN(e.Weight) && len(p.errs) == before {
		p.errf(n, "entry %q has no weight; expect a number in [0,1]", e.Pattern)
	}
	return e, len(p.errs) == before
}

func (p *parser) class(n *yaml.Node, cat Category) (Class, bool) {
	c := Class{Category: cat, Pos: p.pos(n)}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "class is a %s; expect a mapping with %s", kindName(n), strings.Join(classKeys, ", "))
		return c, false
	}
	before := len(p.errs)
	var toxNode *yaml.Node
	p.mapping(n, classKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "name":
			if name, ok := p.str(v, "name"); ok {
				c.Name = name
				if !className.MatchString(name) {
					p.errf(v, "class name %q: expect lower-case ASCII letters, digits and _ (staff, body_part)", name)
				}
			}
		case "description":
			c.Description, _ = p.str(v, "description")
		case "words":
			c.Words = p.phrases(v, "words")
			seen := map[string]bool{}
			for i, w := range c.Words {
				if seen[w] {
					p.errf(v.Content[i], "class word %q given twice", w)
				}
				seen[w] = true
			}
		case "toxicity":
			toxNode = v
			c.Toxicity = p.unit(v, "toxicity")
		case "examples":
			c.Examples = p.phrases(v, "examples")
		case "counter_examples":
			c.CounterExamples = p.phrases(v, "counter_examples")
		}
	})
	switch {
	case c.Name == "" && len(p.errs) == before:
		p.errf(n, "class has no name")
	case len(c.Words) == 0 && len(p.errs) == before:
		p.errf(n, "class %q has no words", c.Name)
	case toxNode != nil && cat == "" && len(p.errs) == before:
		p.errf(toxNode, "class %q has a toxicity in a file without a category; toxicity counts toward the file's category", c.Name)
	}
	return c, len(p.errs) == before
}

func (p *parser) substitution(n *yaml.Node) (Substitution, bool) {
	sub := Substitution{Pos: p.pos(n)}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "substitution is a %s; expect a mapping with from, to", kindName(n))
		return sub, false
	}
	before := len(p.errs)
	p.mapping(n, substitutionKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "from":
			sub.From, _ = p.phrase(v, "from")
		case "to":
			sub.To, _ = p.phrase(v, "to")
		}
	})
	if (sub.From == "" || sub.To == "") && len(p.errs) == before {
		p.errf(n, "substitution needs both from and to")
	}
	return sub, len(p.errs) == before
}

// mapping calls fn for each key of n, reporting unknown and repeated keys.
func (p *parser) mapping(n *yaml.Node, allowed []string, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		known := false
		for _, a := range allowed {
			if key == a {
				known = true
			}
		}
		switch {
		case !known:
			p.errf(k, "unknown key %q; expect %s", key, strings.Join(allowed, "|"))
		case seen[key]:
			p.errf(k, "key %q given twice", key)
		default:
			seen[key] = true
			fn(key, k, v)
		}
	}
}

func (p *parser) seq(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "%s is a %s; expect a list", what, kindName(n))
		return nil
	}
	return n.Content
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errf(n, "%s is a %s; expect a string", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// phrase reads a non-empty string that will be compiled as a pattern.
func (p *parser) phrase(n *yaml.Node, what string) (string, bool) {
	s, ok := p.str(n, what)
	if !ok {
		return "", false
	}
	s = strings.TrimSpace(s)
	if s == "" {
		p.errf(n, "%s is empty", what)
		return "", false
	}
	return s, true
}

func (p *parser) phrases(n *yaml.Node, what string) []string {
	var out []string
	for _, c := range p.seq(n, what) {
		if s, ok := p.phrase(c, what+" item"); ok {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) moods(n *yaml.Node) []Mood {
	var out []Mood
	names := make([]string, len(Moods))
	for i, m := range Moods {
		names[i] = string(m)
	}
	for _, c := range p.seq(n, "moods") {
		s, ok := p.str(c, "moods item")
		if !ok {
			continue
		}
		m := Mood(s)
		if !slices.Contains(Moods, m) {
			p.errf(c, "unknown mood %q; expect %s", s, strings.Join(names, "|"))
			continue
		}
		out = append(out, m)
	}
	return out
}

func (p *parser) weight(n *yaml.Node) float64 { return p.unit(n, "weight") }

// unit reads a number in [0,1].
func (p *parser) unit(n *yaml.Node, what string) float64 {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!float" && n.Tag != "!!int") {
		p.errf(n, "%s %q is not a number; expect a number in [0,1]", what, n.Value)
		return math.NaN()
	}
	w, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(w) || w < 0 || w > 1 {
		p.errf(n, "%s %s out of range; expect a number in [0,1]", what, n.Value)
		return math.NaN()
	}
	return w
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

func categoryList() string {
	s := make([]string, len(Categories))
	for i, c := range Categories {
		s[i] = string(c)
	}
	return strings.Join(s, "|")
}

// yamlErrLine pulls the line number out of a yaml.v3 syntax error
// ("yaml: line 3: ..."); 1 when it has none.
func yamlErrLine(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		if j := strings.IndexByte(rest, ':'); j > 0 {
			if n, err := strconv.Atoi(rest[:j]); err == nil {
				return n
			}
		}
	}
	return 1
}
