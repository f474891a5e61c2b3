package config

import (
	"strings"
	"testing"
)

func TestDSNHasPassword(t *testing.T) {
	tests := []struct {
		dsn  string
		want bool
	}{
		{"postgres://gatehouse:pw@db.example.com/gatehouse", true},
		{"postgresql://gatehouse:p%40ss@db.example.com:5432/gatehouse?sslmode=verify-full", true},
		{"postgres://gatehouse:@db/gh", true},
		{"postgres://db.example.com/gh?user=gatehouse&password=pw", true},
		{"host=db user=gatehouse password=pw dbname=gh", true},
		{"host=db user=gatehouse password = 'p w' dbname=gh", true},
		{"postgres://gatehouse@db.example.com:5432/gatehouse", false},
		{"postgres://db.example.com:5432/gatehouse?user=gatehouse", false},
		{"host=db user=gatehouse dbname=gh passfile=/etc/gatehouse/pgpass", false},
	}
	for _, tt := range tests {
		if got := dsnHasPassword(tt.dsn); got != tt.want {
			t.Errorf("dsnHasPassword(%q) = %v, want %v", tt.dsn, got, tt.want)
		}
	}
}

// TestStoreConnString: the connection string comes from dsn, or from
// dsn_file trimmed; only an inline password draws a warning, and no
// message quotes the connection string.
func TestStoreConnString(t *testing.T) {
	c, err := Load("testdata/good/postgres.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres://gatehouse:lab-only-secret@db.example.com:5432/gatehouse?sslmode=verify-full"; c.Store.ConnString != want {
		t.Errorf("ConnString from dsn_file = %q, want %q", c.Store.ConnString, want)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings for a dsn_file: %v", c.Warnings)
	}
	c, err = Load("testdata/good/postgres-dsn.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.ConnString != c.Store.DSN || len(c.Warnings) != 1 || strings.Contains(c.Warnings[0].Error(), "written-here") {
		t.Errorf("ConnString %q (dsn %q), warnings %v; want the dsn and one warning without the password", c.Store.ConnString, c.Store.DSN, c.Warnings)
	}
	_, err = Load("testdata/bad/store-postgres.yaml")
	if err == nil || strings.Contains(err.Error(), "not-in-messages") {
		t.Errorf("errors for a bad store quote the password: %v", err)
	}
}
