package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Config is the filter's JSON config. A header left out gets its
// default; "" turns it off.
type Config struct {
	HSTS               *string           `json:"hsts"`                 // default "max-age=31536000; includeSubDomains"
	CSP                *string           `json:"csp"`                  // default "frame-ancestors 'none'"
	FrameOptions       *string           `json:"frame_options"`        // default "DENY"
	ContentTypeOptions *string           `json:"content_type_options"` // default "nosniff"
	ReferrerPolicy     *string           `json:"referrer_policy"`      // default "strict-origin-when-cross-origin"
	PermissionsPolicy  *string           `json:"permissions_policy"`   // default off
	Extra              map[string]string `json:"extra"`                // any other header: value
	Remove             []string          `json:"remove"`               // default ["Server", "X-Powered-By"]
}

// header is one header to set.
type header struct{ name, value string }

// plan turns the config into the headers to set and to remove, in a
// stable order, refusing names and values that are not valid.
func (c Config) plan() (set []header, remove []string, err error) {
	named := []struct {
		name string
		v    *string
		def  string
	}{
		{"Strict-Transport-Security", c.HSTS, "max-age=31536000; includeSubDomains"},
		{"Content-Security-Policy", c.CSP, "frame-ancestors 'none'"},
		{"X-Frame-Options", c.FrameOptions, "DENY"},
		{"X-Content-Type-Options", c.ContentTypeOptions, "nosniff"},
		{"Referrer-Policy", c.ReferrerPolicy, "strict-origin-when-cross-origin"},
		{"Permissions-Policy", c.PermissionsPolicy, ""},
	}
	for _, n := range named {
		v := n.def
		if n.v != nil {
			v = *n.v
		}
		if v != "" {
			set = append(set, header{n.name, v})
		}
	}
	extra := make([]string, 0, len(c.Extra))
	for k := range c.Extra {
		extra = append(extra, k)
	}
	sort.Strings(extra)
	for _, k := range extra {
		set = append(set, header{k, c.Extra[k]})
	}
	remove = c.Remove
	if remove == nil {
		remove = []string{"Server", "X-Powered-By"}
	}
	var errs []error
	for _, h := range set {
		if !validName(h.name) {
			errs = append(errs, fmt.Errorf("extra: %q is not a header name", h.name))
		}
		if strings.ContainsAny(h.value, "\r\n\x00") {
			errs = append(errs, fmt.Errorf("%s: the value has a line break", h.name))
		}
	}
	for _, r := range remove {
		if !validName(r) {
			errs = append(errs, fmt.Errorf("remove: %q is not a header name", r))
		}
	}
	return set, remove, errors.Join(errs...)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}
