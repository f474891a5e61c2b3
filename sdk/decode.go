package sdk

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodeConfig decodes the JSON config block raw into the value v points to.
func decodeConfig(raw []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("sdk: Decode needs a non-nil pointer, not %T", v)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return &FieldError{Problem: "not valid JSON: " + err.Error()}
	}
	var d decoder
	d.value("", tree, rv.Elem())
	return errors.Join(d.errs...)
}

// decoder walks a decoded JSON tree and a Go value side by side.
type decoder struct{ errs []error }

func (d *decoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Field: path, Problem: fmt.Sprintf(format, args...)})
}

func (d *decoder) mismatch(path, want string, node any) {
	d.fail(path, "expected %s, got %s", want, describe(node))
}

func (d *decoder) value(path string, node any, v reflect.Value) {
	if node == nil {
		return // null leaves the default
	}
	if d.special(path, node, v) {
		return
	}
	t := v.Type()
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.value(path, node, v.Elem())
	case reflect.Interface:
		if t.NumMethod() != 0 {
			d.fail(path, "sdk: cannot decode into %s", t)
			return
		}
		v.Set(reflect.ValueOf(plain(node)))
	case reflect.Struct:
		d.object(path, node, v)
	case reflect.Map:
		d.mapping(path, node, v)
	case reflect.Slice:
		d.list(path, node, v)
	default:
		d.scalar(path, node, v)
	}
}

// special decodes the types with a text form of their own (durations,
// encoding.TextUnmarshaler); false for any other type.
func (d *decoder) special(path string, node any, v reflect.Value) bool {
	t := v.Type()
	switch {
	case t == durationType:
		s, ok := node.(string)
		if !ok {
			d.mismatch(path, `a duration like "60s"`, node)
			return true
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.fail(path, `expected a duration like "60s" or "1h30m", got %q`, s)
			return true
		}
		v.SetInt(int64(dur))
		return true
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		s, ok := node.(string)
		if !ok {
			d.mismatch(path, "a string", node)
			return true
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.fail(path, "%v", err)
		}
		return true
	}
	return false
}

// list decodes a JSON array into slice v.
func (d *decoder) list(path string, node any, v reflect.Value) {
	list, ok := node.([]any)
	if !ok {
		d.mismatch(path, "a list", node)
		return
	}
	out := reflect.MakeSlice(v.Type(), len(list), len(list))
	for i, item := range list {
		d.value(fmt.Sprintf("%s[%d]", path, i), item, out.Index(i))
	}
	v.Set(out)
}

// scalar decodes a string, a boolean or a number into v.
func (d *decoder) scalar(path string, node any, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		s, ok := node.(string)
		if !ok {
			d.mismatch(path, "a string", node)
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := node.(bool)
		if !ok {
			d.mismatch(path, "true or false", node)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := node.(json.Number)
		i, err := strconv.ParseInt(string(n), 10, 64)
		if !ok || err != nil || v.OverflowInt(i) {
			d.mismatch(path, "a whole number in range", node)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := node.(json.Number)
		u, err := strconv.ParseUint(string(n), 10, 64)
		if !ok || err != nil || v.OverflowUint(u) {
			d.mismatch(path, "a whole number, 0 or more, in range", node)
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		n, ok := node.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil {
			d.mismatch(path, "a number", node)
			return
		}
		v.SetFloat(f)
	default:
		d.fail(path, "sdk: cannot decode into %s", v.Type())
	}
}

// object decodes a JSON object into struct v; every key must name a field.
func (d *decoder) object(path string, node any, v reflect.Value) {
	m, ok := node.(map[string]any)
	if !ok {
		d.mismatch(path, "a map of keys", node)
		return
	}
	fields := fieldsOf(v.Type())
	for _, k := range slices.Sorted(maps.Keys(m)) {
		i, ok := fields[k]
		if !ok {
			d.fail(join(path, k), "unknown key (known keys: %s)", strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
			continue
		}
		d.value(join(path, k), m[k], v.Field(i))
	}
}

// mapping decodes a JSON object into map v, whose keys must be strings.
func (d *decoder) mapping(path string, node any, v reflect.Value) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(path, "sdk: cannot decode into %s: map keys must be strings", t)
		return
	}
	m, ok := node.(map[string]any)
	if !ok {
		d.mismatch(path, "a map", node)
		return
	}
	out := reflect.MakeMapWithSize(t, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		elem := reflect.New(t.Elem()).Elem()
		d.value(join(path, k), m[k], elem)
		out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), elem)
	}
	v.Set(out)
}

// fieldsOf maps config key names to the indexes of t's exported fields.
func fieldsOf(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = i
	}
	return fields
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe names the JSON type of node for an error message.
func describe(node any) string {
	switch n := node.(type) {
	case string:
		return fmt.Sprintf("the string %q", n)
	case json.Number:
		return "the number " + string(n)
	case bool:
		return fmt.Sprintf("%t", n)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return "null"
}

// plain turns json.Numbers in node back into float64s, as encoding/json
// would have, for fields of type any.
func plain(node any) any {
	switch n := node.(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case []any:
		for i := range n {
			n[i] = plain(n[i])
		}
	case map[string]any:
		for k := range n {
			n[k] = plain(n[k])
		}
	}
	return node
}
