package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// FieldError is one problem in a configuration file.
type FieldError struct {
	File   string // the file name as given to Load or Parse
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	Key    string // key path such as "apps[0].backend.url"; "" for the whole file
	Msg    string // what is wrong, what was expected and what to do
}

// Error formats e as "file:line:col: key: msg", leaving out unknown parts.
func (e FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration file, sorted by
// position. Load and Parse return it (as error) when the content is wrong.
type Errors struct {
	List []FieldError
}

// Error returns one FieldError per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, fe := range e.List {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual FieldErrors, for errors.As.
func (e *Errors) Unwrap() []error {
	errs := make([]error, len(e.List))
	for i, fe := range e.List {
		errs[i] = fe
	}
	return errs
}

// sortErrors orders errors by line, then column, keeping the discovery order
// of errors at the same position.
func sortErrors(list []FieldError) {
	slices.SortStableFunc(list, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
