package tunnelserver

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/registry"
	"github.com/gatehouse/gatehouse/tunnel"
)

// A connector's ready carries its sign-on report: the registry then routes
// the app it refused nowhere (the error quotes the refusal), and the
// store keeps the report, cleaned, for 'gatehouse connectors'.
func TestReadyReportRoutesAndIsStored(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	log := slog.New(slog.DiscardHandler)
	reg := registry.New(clock, time.Minute)
	reg.SetSignOns(map[string]registry.SignOnNeed{
		"crm": {Plugin: "tenant-sig", Since: 1}, "hr": {Plugin: "header", Builtin: true, Since: 1}})
	st := &touchStore{}
	h := &Hub{Logger: log, Store: st, Registry: reg, Clock: clock,
		Config: func(string) *tunnel.Config { return &tunnel.Config{Version: 1} }}
	_, control := pipeSession(t, h)
	send := func(m tunnel.Message) {
		t.Helper()
		if err := tunnel.WriteFrame(control, m); err != nil {
			t.Fatal(err)
		}
	}
	send(tunnel.Message{Type: tunnel.MsgHello, Hello: &tunnel.Hello{Version: "v2"}})
	var m tunnel.Message
	if err := tunnel.ReadFrame(control, &m); err != nil || m.Type != tunnel.MsgConfig {
		t.Fatalf("want config, got %+v %v", m, err)
	}
	rep := &tunnel.SignOnReport{
		Plugins:  []tunnel.PluginInfo{{Name: "header", Builtin: true}, {Name: "tenant-sig", SHA256: strings.Repeat("ab", 32)}},
		Accepted: []string{"hr"},
		Refused: []tunnel.SignOnRefusal{{App: "crm", Plugin: "tenant-sig", Field: "sign_on.plugin",
			Message: "checksum mismatch\x1b[31m " + strings.Repeat("x", 1000)}},
	}
	send(tunnel.Message{Type: tunnel.MsgReady, Ready: &tunnel.Ready{ConfigVersion: 1, SignOn: rep}})

	var status *SignOnStatus
	var err error
	waitUntil(t, "the report in the store", func() bool {
		status, err = LoadSignOnStatus(t.Context(), st, "c-1")
		return err == nil && status != nil
	})
	if !status.Reported || status.Version != "v2" || len(status.Plugins) != 2 || status.Accepted[0] != "hr" || len(status.Refused) != 1 {
		t.Fatalf("stored %+v", status)
	}
	msg := status.Refused[0].Message
	if strings.ContainsRune(msg, 0x1b) || len(msg) > maxMessage+len("…") || !strings.HasPrefix(msg, "checksum mismatch?[31m x") {
		t.Fatalf("the refusal was stored uncleaned: %q", msg)
	}
	st2, id, release, err := reg.DialApp(t.Context(), "default", "hr", nil, false)
	if err != nil || id != "c-1" {
		t.Fatalf("hr: %v", err)
	}
	st2.Close()
	release()
	_, _, _, err = reg.DialApp(t.Context(), "default", "crm", nil, false)
	var so *registry.SignOnError
	if !errors.As(err, &so) || so.Connector != "c-1" || !strings.Contains(err.Error(), "sign_on.plugin: checksum mismatch") {
		t.Fatalf("crm: %v", err)
	}
}

func TestClean(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"plain", 10, "plain"},
		{"bell\a and\nnewline", 100, "bell? and?newline"},
		{"\xff bad utf-8", 100, "? bad utf-8"},
		{"héllo", 2, "h…"}, // never half a rune
		{"\u009b csi", 100, "? csi"},
	} {
		if got := clean(c.in, c.n); got != c.want {
			t.Errorf("clean(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if cleanReport(nil) != nil {
		t.Error("cleanReport(nil) is not nil: an older connector would look like one that reports nothing")
	}
}
