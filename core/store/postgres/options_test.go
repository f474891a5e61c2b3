package postgres

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestPoolOptions: the configured limits reach pgxpool, override the
// DSN's own pool_* parameters, and the pool honours them.
func TestPoolOptions(t *testing.T) {
	dsn := freshDSN(t)
	withParams := dsn + "&pool_max_conns=7&pool_min_conns=2"
	tests := []struct {
		name     string
		dsn      string
		opts     Options
		max, min int32
		life     time.Duration
		idle     time.Duration
	}{
		{"configured", dsn, Options{MaxConns: 3, MinConns: 2, MaxConnLifetime: 7 * time.Minute, MaxConnIdleTime: 3 * time.Minute},
			3, 2, 7 * time.Minute, 3 * time.Minute},
		{"DSN parameters kept", withParams, Options{}, 7, 2, time.Hour, 30 * time.Minute},
		{"options win over the DSN", withParams, Options{MaxConns: 5, MinConns: 1}, 5, 1, time.Hour, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t, tt.dsn, tt.opts)
			cfg := db.pool.Config()
			if cfg.MaxConns != tt.max || cfg.MinConns != tt.min || cfg.MaxConnLifetime != tt.life || cfg.MaxConnIdleTime != tt.idle {
				t.Fatalf("pool config: max %d, min %d, lifetime %v, idle %v; want %d, %d, %v, %v",
					cfg.MaxConns, cfg.MinConns, cfg.MaxConnLifetime, cfg.MaxConnIdleTime, tt.max, tt.min, tt.life, tt.idle)
			}
			// Hold as many connections as allowed: the pool opens no more.
			var held []interface{ Release() }
			for range tt.max {
				c, err := db.pool.Acquire(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
			}
			if maxConns, open := db.PoolStat(); maxConns != tt.max || open != tt.max {
				t.Errorf("PoolStat = max %d, open %d; want %d, %d", maxConns, open, tt.max, tt.max)
			}
			for _, c := range held {
				c.Release()
			}
		})
	}
}

func TestPoolOptionsRejected(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{MaxConns: -1}, "negative"},
		{Options{MaxConns: 2, MinConns: 3}, "min_conns 3 is more than max_conns 2"},
	} {
		_, err := poolConfig("postgres://u@localhost/db", tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("poolConfig(%+v) = %v, want an error with %q", tt.opts, err, tt.want)
		}
	}
}

// TestErrorsHideThePassword: whatever goes wrong with a DSN, the error
// names what and where, never the password.
func TestErrorsHideThePassword(t *testing.T) {
	const pw = "S3cret-Pw"
	tests := []struct{ name, dsn string }{
		{"bad port", "postgres://gatehouse:" + pw + "@127.0.0.1:notaport/gatehouse"},
		{"broken host", "postgres://gatehouse:" + pw + "@[::1/gatehouse"},
		{"escaped", "postgres://gatehouse:" + url.PathEscape(pw+"/x") + "@127.0.0.1:badport/gh"},
		{"unknown parameter", "postgres://gatehouse:" + pw + "@127.0.0.1:5432/gh?sslmode=sometimes"},
		{"keywords", "host=127.0.0.1 port=nope user=gatehouse password=" + pw},
		{"quoted keyword", "host=127.0.0.1 port=nope user=gatehouse password='" + pw + " x'"},
		{"query password", "postgres://127.0.0.1:nope/gh?password=" + pw},
		{"nothing listens", "postgres://gatehouse:" + pw + "@127.0.0.1:1/gatehouse?sslmode=disable&connect_timeout=5"},
	}
	if lab != nil {
		u, err := url.Parse(lab.DSN)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(lab.User, pw) // the wrong password
		tests = append(tests, struct{ name, dsn string }{"wrong password", u.String()})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(t.Context(), tt.dsn, Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), "S3cret") {
				t.Fatalf("the error shows the password: %v", err)
			}
			t.Logf("%v", err)
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ text, dsn, want string }{
		{"cannot parse `postgres://u:p%40ss@h/db`", "postgres://u:p%40ss@h/db", "cannot parse `postgres://u:xxxxx@h/db`"},
		{"bad p@ss here", "postgres://u:p%40ss@h/db", "bad xxxxx here"},
		{"password=it's x", `host=h password='it\'s' user=u`, "password=xxxxx x"},
		{"no password here", "postgres://u@h/db", "no password here"},
	}
	for _, tt := range tests {
		if got := Redact(tt.text, tt.dsn); got != tt.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", tt.text, tt.dsn, got, tt.want)
		}
	}
}

// TestBlobPrefixBytes: prefixes ending in 0xff bytes, where the byte
// range has no simple upper bound.
func TestBlobPrefixBytes(t *testing.T) {
	db := open(t, freshDSN(t), Options{})
	ctx := t.Context()
	keys := []string{"a", "a\xff", "a\xff\xff/x", "a\xff\xff/x/y", "b", "\xff", "\xff\xff"}
	for _, k := range keys {
		if err := db.PutBlob(ctx, k, []byte(k), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		prefix string
		want   []string
	}{
		{"a\xff", []string{"a\xff", "a\xff\xff/x", "a\xff\xff/x/y"}},
		{"\xff", []string{"\xff", "\xff\xff"}},
		{"a\xff\xff/", []string{"a\xff\xff/x", "a\xff\xff/x/y"}},
	} {
		got, err := db.ListBlobs(ctx, tt.prefix)
		if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("ListBlobs(%q) = %q, %v; want %q", tt.prefix, got, err, tt.want)
		}
	}
	if n, err := db.DeleteBlobs(ctx, "a\xff\xff/x"); n != 2 || err != nil {
		t.Errorf("DeleteBlobs = %d, %v; want 2", n, err)
	}
}
