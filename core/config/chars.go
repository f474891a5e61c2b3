package config

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// badCharacter finds what yaml.v3 reports without a line ("control
// characters are not allowed", "invalid leading UTF-8 octet"): the first
// byte of data that is not valid UTF-8 or a character YAML does not
// allow. It returns its 1-based line and column, and msg with the
// character named, or line 0 and msg unchanged when there is none.
func badCharacter(data []byte, msg string) (line, col int, out string) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a leading BOM is allowed
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 || !yamlAllowed(r) {
			line = bytes.Count(data[:i], []byte("\n")) + 1
			col = utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i]) + 1
			what := fmt.Sprintf("the character %U", r)
			if r == utf8.RuneError && size <= 1 {
				what = fmt.Sprintf("the byte %#02x, which is not UTF-8", data[i])
			}
			return line, col, fmt.Sprintf("%s (%s: save the file as UTF-8 text without control characters)", msg, what)
		}
		i += size
	}
	return 0, 0, msg
}

// yamlAllowed reports whether YAML 1.2 allows r in a file (its
// c-printable set, as yaml.v3's reader checks it).
func yamlAllowed(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e || r == 0x85 ||
		r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
}
