package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const appYAML = `
connector_groups: [{name: default}]
apps:
  - name: hr
    host: hr.example.com
    group: default
    auth: passthrough
    backend:
      url: http://10.0.0.5:8080
`

func TestParseBackendTimeoutPresence(t *testing.T) {
	tests := []struct {
		name string
		line string // added under backend:
		want time.Duration
	}{
		{"absent gets the default", "", 60 * time.Second},
		{"empty value gets the default", "      timeout:\n", 60 * time.Second},
		{"explicit zero means no limit", "      timeout: 0\n", 0},
		{"explicit value", "      timeout: 1m30s\n", 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("gatehouse.yaml", []byte(appYAML+tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Apps[0].Backend.Timeout.D(); got != tt.want {
				t.Errorf("timeout = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseFieldErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []FieldError
	}{
		{
			name: "unknown nested key",
			yaml: "log:\n  level: info\n  levle: debug\n",
			want: []FieldError{{File: "gatehouse.yaml", Line: 3, Column: 3, Key: "log.levle",
				Msg: `unknown key "levle" (known keys: level, format, access_query)`}},
		},
		{
			name: "bad duration points at the value",
			yaml: "tunnel:\n  inactive_after: 3x\n",
			want: []FieldError{{File: "gatehouse.yaml", Line: 2, Column: 19, Key: "tunnel.inactive_after",
				Msg: `"3x" is not a duration (write e.g. 30s, 10m, 240h)`}},
		},
		{
			name: "bare number duration",
			yaml: "tunnel:\n  remove_after: 300\n",
			want: []FieldError{{File: "gatehouse.yaml", Line: 2, Column: 17, Key: "tunnel.remove_after",
				Msg: `"300" is not a duration: add a unit (write e.g. 30s, 10m, 240h)`}},
		},
		{
			name: "empty input",
			yaml: "",
			want: []FieldError{{File: "gatehouse.yaml",
				Msg: "the file is empty (expected a mapping with keys such as listen, connector_groups and apps)"}},
		},
		{
			name: "null document",
			yaml: "~\n",
			want: []FieldError{{File: "gatehouse.yaml",
				Msg: "the file is empty (expected a mapping with keys such as listen, connector_groups and apps)"}},
		},
		{
			name: "scalar document",
			yaml: "hello\n",
			want: []FieldError{{File: "gatehouse.yaml", Line: 1, Column: 1,
				Msg: `expected a mapping (indented "key: value" lines), got "hello"`}},
		},
		{
			name: "errors sorted by line even when found out of order",
			yaml: "apps:\n  - {name: a, host: a.example.com, group: x, auth: passthrough, backend: {url: 'http://h'}}\nconnector_groups:\n  - name: BAD\n",
			want: []FieldError{
				{File: "gatehouse.yaml", Line: 2, Column: 43, Key: "apps[0].group",
					Msg: `connector group "x" is not defined (add it under connector_groups)`},
				{File: "gatehouse.yaml", Line: 4, Column: 11, Key: "connector_groups[0].name",
					Msg: `"BAD" is not a valid connector group name (use 1-63 lower-case letters, digits and "-", starting with a letter or digit); write "bad"`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("gatehouse.yaml", []byte(tt.yaml))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error = %v (%T), want *Errors", err, err)
			}
			if len(errs.List) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs.List), len(tt.want), err)
			}
			for i := range tt.want {
				if errs.List[i] != tt.want[i] {
					t.Errorf("error %d:\n got %#v\nwant %#v", i, errs.List[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseNormalises(t *testing.T) {
	c, err := Parse("conf/gatehouse.yaml", []byte(`
data_dir: /srv/gh
store: {path: db/state.db}
connector_groups: [{name: default}]
apps:
  - name: hr
    host: HR.Example.com
    path_prefix: /Portal/
    group: default
    auth: passthrough
    backend:
      url: HTTPS://10.0.0.5
      pin_sha256: "AB:cd:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89"
      server_name: Backend.Internal
`))
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("conf/gatehouse.yaml")
	a := c.Apps[0]
	for _, check := range []struct{ name, got, want string }{
		{"Path", c.Path, abs},
		{"DataDir", c.DataDir, "/srv/gh"},
		{"Store.Path (relative to the config file, not data_dir)", c.Store.Path, filepath.Join(filepath.Dir(abs), "db/state.db")},
		{"Host", a.Host, "hr.example.com"},
		{"PathPrefix (case kept, trailing slash dropped)", a.PathPrefix, "/Portal"},
		{"URL", a.Backend.URL, "https://10.0.0.5"},
		{"PinSHA256", a.Backend.PinSHA256, strings.Repeat("abcdef0123456789", 4)},
		{"ServerName", a.Backend.ServerName, "backend.internal"},
		{"Advertise", strings.Join(c.Tunnel.Advertise, ","), "127.0.0.1:8444"},
	} {
		if check.got != check.want {
			t.Errorf("%s = %q, want %q", check.name, check.got, check.want)
		}
	}
}

func TestErrorsUnwrap(t *testing.T) {
	_, err := Parse("x.yaml", []byte("nope: 1\n"))
	var fe FieldError
	if !errors.As(err, &fe) || fe.Key != "nope" || fe.Line != 1 {
		t.Fatalf("errors.As FieldError: %#v from %v", fe, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want a wrapped fs.ErrNotExist", err)
	}
}

func TestDurationYAML(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"30s", 30 * time.Second, ""},
		{"0", 0, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"-1s", 0, `"-1s" is negative`},
		{"3x", 0, `"3x" is not a duration`},
		{"[1s]", 0, "expected a duration such as 30s, got a list"},
	}
	for _, tt := range tests {
		var v struct{ D Duration }
		err := yaml.Unmarshal([]byte("d: "+tt.in), &v)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || v.D.D() != tt.want {
			t.Errorf("%s: got %v, %v; want %v", tt.in, v.D.D(), err, tt.want)
		}
	}
	for d, want := range map[Duration]string{
		Duration(240 * time.Hour): "240h", Duration(10 * time.Minute): "10m",
		Duration(90 * time.Second): "1m30s", 0: "0s", Duration(time.Hour + time.Second): "1h0m1s",
	} {
		if got := d.String(); got != want {
			t.Errorf("Duration(%d).String() = %q, want %q", d, got, want)
		}
	}
}
