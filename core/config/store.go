package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Store selects the state store.
type Store struct {
	// Driver is "sqlite" (the default: one gateway node) or "postgres"
	// (one or several nodes sharing a PostgreSQL database).
	Driver string `yaml:"driver"`
	// Path is the SQLite file (driver sqlite). Default: DataDir/gatehouse.db.
	// A relative path is resolved against the config file's directory, not
	// DataDir.
	Path string `yaml:"path,omitempty"`

	// The keys below are for driver postgres.

	// DSN is the PostgreSQL connection string: a URL such as
	// postgres://gatehouse@db.example.com/gatehouse?sslmode=verify-full or
	// libpq's "key=value" pairs. One with a password draws a warning: keep
	// the password out of the config file with DSNFile.
	DSN string `yaml:"dsn,omitempty"`
	// DSNFile is a file that holds the connection string (white space
	// around it is ignored). Exactly one of dsn and dsn_file is set.
	DSNFile string `yaml:"dsn_file,omitempty"`
	// MaxConns is the most connections a node opens at once. Default 10.
	MaxConns Count `yaml:"max_conns,omitempty"`
	// MinConns is how many connections a node keeps open while idle.
	// Default 0.
	MinConns Count `yaml:"min_conns,omitempty"`
	// MaxConnLifetime: a connection is replaced after this long. Default 1h.
	MaxConnLifetime Duration `yaml:"max_conn_lifetime,omitempty"`
	// MaxConnIdleTime: an idle connection is closed after this long.
	// Default 30m.
	MaxConnIdleTime Duration `yaml:"max_conn_idle_time,omitempty"`
	// ConnString is the connection string to use: DSN, or the trimmed
	// content of DSNFile. Set by the loader; it may hold a password, so it
	// is never printed.
	ConnString string `yaml:"-"`
}

// Store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Defaults of the postgres driver's pool.
const (
	defaultMaxConns        = Count(10)
	defaultMaxConnLifetime = Duration(time.Hour)
	defaultMaxConnIdleTime = Duration(30 * time.Minute)
	maxCount               = 10000
)

// postgresKeys are the store keys only driver postgres takes.
var postgresKeys = []string{"dsn", "dsn_file", "max_conns", "min_conns", "max_conn_lifetime", "max_conn_idle_time"}

// Count is a number of things, such as connections: an integer from 0 to
// 10000.
type Count int32

// UnmarshalYAML accepts a non-negative integer.
func (n *Count) UnmarshalYAML(node *yaml.Node) error {
	v, err := strconv.ParseInt(node.Value, 10, 32)
	if node.Kind != yaml.ScalarNode || node.Tag != "!!int" || err != nil {
		return fmt.Errorf("expected a whole number such as 10, got %s", describeNode(node))
	}
	if v < 0 || v > maxCount {
		return fmt.Errorf("%d is out of range (write a number from 0 to %d)", v, maxCount)
	}
	*n = Count(v)
	return nil
}

// storeDefaults fills in the store keys left out, for the driver chosen.
func (l *loader) storeDefaults(c *Config) {
	s := &c.Store
	l.str(&s.Driver, "store.driver", DriverSQLite)
	switch s.Driver {
	case DriverSQLite:
		if s.Path == "" {
			s.Path = filepath.Join(c.DataDir, defaultStoreFile)
			l.defaulted["store.path"] = true
		}
		s.Path = l.resolve(s.Path)
	case DriverPostgres:
		s.DSNFile = l.resolve(s.DSNFile)
		if !l.present("store.max_conns") && !l.bad["store.max_conns"] {
			s.MaxConns = defaultMaxConns
			l.defaulted["store.max_conns"] = true
		}
		l.dur(&s.MaxConnLifetime, "store.max_conn_lifetime", defaultMaxConnLifetime)
		l.dur(&s.MaxConnIdleTime, "store.max_conn_idle_time", defaultMaxConnIdleTime)
	}
}

func (l *loader) checkStore(c *Config) {
	s := &c.Store
	switch s.Driver {
	case DriverSQLite:
		for _, k := range postgresKeys {
			if l.present("store." + k) {
				l.errorf("store."+k, "is for driver postgres; remove it, or set store.driver: postgres")
			}
		}
	case DriverPostgres:
		l.checkPostgres(s)
	default:
		l.errorf("store.driver", "%q is not supported (use sqlite or postgres)", s.Driver)
	}
}

// checkPostgres checks the postgres driver's keys and sets ConnString.
// Messages never quote the DSN: it may hold a password.
func (l *loader) checkPostgres(s *Store) {
	if l.present("store.path") {
		l.errorf("store.path", "is the SQLite file; with driver postgres remove it (name the database in store.dsn_file or store.dsn)")
	}
	switch {
	case s.DSN != "" && s.DSNFile != "":
		l.errorf("store.dsn_file", "set either store.dsn or store.dsn_file, not both")
	case s.DSN != "":
		s.ConnString = s.DSN
		if dsnHasPassword(s.DSN) {
			l.warnf("store.dsn", "holds a password in the config file; put the connection string in a file only the gateway can read and name it in store.dsn_file")
		}
	case s.DSNFile != "":
		b, err := os.ReadFile(s.DSNFile)
		switch {
		case err != nil:
			l.errorf("store.dsn_file", "cannot read %q: %s (it holds the connection string; relative paths start at the config file's directory)", l.written("store.dsn_file"), fileErr(err))
		case strings.TrimSpace(string(b)) == "":
			l.errorf("store.dsn_file", "%q is empty; write the connection string in it, e.g. postgres://gatehouse:PASSWORD@db.example.com/gatehouse", l.written("store.dsn_file"))
		default:
			s.ConnString = strings.TrimSpace(string(b))
		}
	case !l.bad["store.dsn"] && !l.bad["store.dsn_file"]:
		l.errorf("store.driver", "postgres needs store.dsn_file (a file holding the connection string, e.g. postgres://gatehouse:PASSWORD@db.example.com/gatehouse) or store.dsn")
	}
	if s.ConnString != "" && !strings.Contains(s.ConnString, "://") && !strings.Contains(s.ConnString, "=") {
		key := map[bool]string{true: "store.dsn", false: "store.dsn_file"}[s.DSN != ""]
		l.errorf(key, "the connection string is neither a postgres:// URL nor key=value pairs (e.g. postgres://gatehouse@db.example.com/gatehouse or \"host=db.example.com user=gatehouse dbname=gatehouse\")")
	}
	if l.present("store.max_conns") && s.MaxConns == 0 {
		l.errorf("store.max_conns", "must be at least 1 (default 10)")
	}
	if s.MaxConns > 0 && s.MinConns > s.MaxConns {
		l.errorf("store.min_conns", "%d is more than store.max_conns (%d); lower it or raise max_conns", s.MinConns, s.MaxConns)
	}
	for _, k := range []struct {
		key string
		d   Duration
	}{{"store.max_conn_lifetime", s.MaxConnLifetime}, {"store.max_conn_idle_time", s.MaxConnIdleTime}} {
		if k.d < Duration(time.Second) && !l.bad[k.key] {
			l.errorf(k.key, "%s is too short; use at least 1s (or leave it out for the default)", k.d)
		}
	}
}

// dsnHasPassword reports whether a connection string holds a password: in
// a URL's user info or query, or as a password=... pair.
func dsnHasPassword(dsn string) bool {
	if _, rest, ok := strings.Cut(dsn, "://"); ok {
		beforeQuery, query, _ := strings.Cut(rest, "?")
		if i := strings.LastIndex(beforeQuery, "@"); i >= 0 && strings.Contains(beforeQuery[:i], ":") {
			return true
		}
		for p := range strings.SplitSeq(query, "&") {
			if strings.HasPrefix(p, "password=") {
				return true
			}
		}
		return false
	}
	for f := range strings.FieldsSeq(dsn) {
		if k, _, ok := strings.Cut(f, "="); ok && strings.TrimSpace(k) == "password" {
			return true
		}
	}
	return strings.Contains(dsn, "password =")
}
