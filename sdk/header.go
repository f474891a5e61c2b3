package sdk

import (
	"fmt"
	"net/http"
	"strings"
)

// checkHeader reports the first header field in h that HTTP does not allow.
func checkHeader(h http.Header) error {
	for name, values := range h {
		if err := checkHeaderName(name); err != nil {
			return err
		}
		for _, v := range values {
			if err := checkHeaderValue(v); err != nil {
				return fmt.Errorf("header %q: %w", name, err)
			}
		}
	}
	return nil
}

// checkHeaderName reports whether name is not an HTTP token (RFC 9110 5.1).
func checkHeaderName(name string) error {
	if name == "" {
		return fmt.Errorf("empty header name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 || !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return fmt.Errorf("header name %q: byte %q is not allowed", name, c)
		}
	}
	return nil
}

// checkHeaderValue reports a CR, LF or NUL, which would let a value start a
// header or a request of its own.
func checkHeaderValue(v string) error {
	if i := strings.IndexAny(v, "\r\n\x00"); i >= 0 {
		return fmt.Errorf("value has a control byte %q at offset %d", v[i], i)
	}
	return nil
}
