package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// unmarshalStrict is json.Unmarshal into v, except that it refuses what
// encoding/json would silently resolve: a key given twice in one object
// (json.Unmarshal keeps the last), two keys that differ only in case, and a
// key that names one of v's fields in another case than its own
// ("Comment" for "comment"; json.Unmarshal matches case-insensitively).
// protojson refuses the same on /v1/classify. Keys that name no field are
// still ignored, as the APIs these routes copy ignore them.
func unmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := checkKeys(dec, reflect.TypeOf(v), ""); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// checkKeys reads one JSON value from dec, checking every object's keys and,
// where t is a struct, their case against its fields. path names the value
// in errors: comment.text, input[2].
func checkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t != rawMessageType {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkKeys(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ]
		return err
	case json.Delim('{'):
		fields := map[string]reflect.Type{} // a struct's JSON names
		var mapElem reflect.Type
		if t != nil && t.Kind() == reflect.Struct {
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "" {
					name = f.Name
				}
				fields[name] = f.Type
			}
		} else if t != nil && t.Kind() == reflect.Map {
			mapElem = t.Elem()
		}
		seen := map[string]string{} // lower case → as given
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key := tok.(string)
			field := strings.TrimPrefix(path+"."+key, ".")
			if prev, ok := seen[strings.ToLower(key)]; ok {
				if prev == key {
					return fmt.Errorf("%s: duplicate key", field)
				}
				return fmt.Errorf("%s: key %q given also as %q, want one", field, key, prev)
			}
			seen[strings.ToLower(key)] = key
			elem := mapElem
			if t != nil && t.Kind() == reflect.Struct {
				if ft, ok := fields[key]; ok {
					elem = ft
				} else {
					for name := range fields {
						if strings.EqualFold(name, key) {
							return fmt.Errorf("%s: unknown key %q, want %q", field, key, name)
						}
					}
				}
			}
			if err := checkKeys(dec, elem, field); err != nil {
				return err
			}
		}
		_, err := dec.Token() // }
		return err
	}
	return nil // a scalar
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()
