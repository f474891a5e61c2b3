package header

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// config is the plug-in's config block; see README.md.
type config struct {
	Headers        map[string]string `json:"headers"`
	GroupSeparator string            `json:"group_separator"`
	Remove         []string          `json:"remove"`
	JWT            *jwtConfig        `json:"jwt"`
}

type jwtConfig struct {
	Header   string        `json:"header"`
	Issuer   string        `json:"issuer"`
	Audience string        `json:"audience"`
	TTL      time.Duration `json:"ttl"`
}

// maxTTL bounds jwt.ttl: an assertion is for one request, not a session.
const maxTTL = 10 * time.Minute

func decode(req sdk.ConfigureRequest) (config, error) {
	cfg := config{GroupSeparator: ","}
	if err := req.Decode(&cfg); err != nil {
		return cfg, err
	}
	if len(cfg.Headers) == 0 && cfg.JWT == nil {
		return cfg, sdk.FieldErrorf("", "nothing to inject: set headers, jwt or both")
	}
	for _, name := range sortedKeys(cfg.Headers) {
		if !validName(name) {
			return cfg, sdk.FieldErrorf("headers."+name, "not a valid HTTP header name")
		}
	}
	for i, name := range cfg.Remove {
		if !validName(name) {
			return cfg, sdk.FieldErrorf(fmt.Sprintf("remove[%d]", i), "%q is not a valid HTTP header name", name)
		}
	}
	if j := cfg.JWT; j != nil {
		if j.Header == "" {
			j.Header = "X-Gatehouse-Assertion"
		}
		if !validName(j.Header) {
			return cfg, sdk.FieldErrorf("jwt.header", "%q is not a valid HTTP header name", j.Header)
		}
		if j.Issuer == "" {
			j.Issuer = "gatehouse"
		}
		if j.Audience == "" {
			j.Audience = req.App
		}
		switch {
		case j.TTL == 0:
			j.TTL = time.Minute
		case j.TTL < time.Second || j.TTL > maxTTL:
			return cfg, sdk.FieldErrorf("jwt.ttl", "must be between 1s and %v, got %v", maxTTL, j.TTL)
		}
	}
	return cfg, nil
}

// compile parses a header template and renders it once for a full sample
// identity, so a misspelt field ({{.Usr}}) is refused at load time.
func compile(name, text, sep string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"join": func(list []string) string { return strings.Join(list, sep) },
	}).Parse(text)
	if err != nil {
		return nil, sdk.FieldErrorf("headers."+name, "bad template: %v", err)
	}
	sample := templateData{sdk.Identity{Subject: "s", UPN: "u@R", Email: "e@x", Name: "n", Groups: []string{"g"}, AMR: []string{"pwd"}, Claims: map[string]any{}}}
	if err := t.Execute(&strings.Builder{}, sample); err != nil {
		return nil, sdk.FieldErrorf("headers."+name, "template fails on a sample identity: %v (fields: .Subject .UPN .Email .Name .Groups .AMR .Claims; functions: join, .Claim \"name\")", err)
	}
	return t, nil
}

func validName(name string) bool {
	return name != "" && sdk.InjectResult{Remove: []string{name}}.Validate() == nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
