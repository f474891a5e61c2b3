package accesslog

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// jsonPlain marks the bytes AppendJSONString copies as they are without
// a second look: printable ASCII other than '"' and '\\'.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendJSONString appends s as a quoted JSON string, escaped as slog's
// JSON handler does: quote and backslash; \n, \r and \t; every other
// control byte as \u00XX; invalid UTF-8 as \ufffd; U+2028 and U+2029 as
// \u2028 and \u2029. Everything else is copied as is.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendJSONBody(b, s)
	return append(b, '"')
}

// appendJSONBody appends s escaped as AppendJSONString does, without the
// quotes.
func appendJSONBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) && jsonPlain8(load8(s, i)) { // the common case: plain ASCII, 8 bytes at a time
			i += 8
		}
		for i < len(s) && jsonPlain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// AppendTextString appends s as slog's text handler writes a value: as
// is when it holds only printable characters other than space, '"' and
// '=', else quoted Go-style (strconv.Quote), which escapes control
// characters and invalid UTF-8; "" is written as "".
func AppendTextString(b []byte, s string) []byte {
	if textNeedsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func textNeedsQuoting(s string) bool {
	return s == "" || textHasSpecial(s)
}

// textHasSpecial: s holds a byte or rune that makes a text value need
// quotes.
func textHasSpecial(s string) bool {
	for i := 0; i < len(s); {
		if i+8 <= len(s) && textPlain8(load8(s, i)) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			// A backslash alone is left bare, as slog does.
			if c != '\\' && (c <= ' ' || c == '"' || c == '=') {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// Eight bytes at once (SWAR): lo has 1 in every byte, hi its top bit.
const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// load8 is s[i:i+8] as a little-endian word (one load).
func load8(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// less has a top bit set in some byte when a byte of x is below n
// (n <= 128; exact for whether any byte is: Hacker's Delight, 6-1).
func less(x, n uint64) uint64 { return (x - lo*n) &^ x & hi }

// has has a top bit set when some byte of x is c.
func has(x, c uint64) uint64 { return less(x^(lo*c), 1) }

// jsonPlain8: every byte of x is one jsonPlain copies as is.
func jsonPlain8(x uint64) bool {
	return (x&hi)|less(x, 0x20)|has(x, '"')|has(x, '\\') == 0
}

// textPlain8: no byte of x makes a text value need quotes (all printable
// ASCII other than space, '"' and '=').
func textPlain8(x uint64) bool {
	return (x&hi)|less(x, 0x21)|has(x, '"')|has(x, '=') == 0
}
