package registry

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/tunnel"
)

func statusOf(t *testing.T, r *Registry, id string) Status {
	t.Helper()
	for _, s := range r.List() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("connector %s is not listed", id)
	return Status{}
}

// A connector's RTT is the latest measured on any of its sessions; a
// session that ended no longer counts, and one not attached is ignored.
func TestRTT(t *testing.T) {
	r := New(newClock(), time.Minute)
	s1, _ := newTunnel(t, "c")
	s2, _ := newTunnel(t, "c")
	detach1 := r.Attach("c", "g", s1)
	detach2 := r.Attach("c", "g", s2)
	defer detach2()
	if got := statusOf(t, r, "c").RTT; got != 0 {
		t.Fatalf("RTT before any ping: %v", got)
	}
	r.SetRTT(s1, 3*time.Millisecond)
	r.SetRTT(s2, 7*time.Millisecond)
	if got := statusOf(t, r, "c").RTT; got != 7*time.Millisecond {
		t.Errorf("RTT %v, want the latest, 7ms", got)
	}
	r.SetRTT(s1, 2*time.Millisecond)
	if got := statusOf(t, r, "c").RTT; got != 2*time.Millisecond {
		t.Errorf("RTT %v, want the latest, 2ms", got)
	}
	detach1()
	if got := statusOf(t, r, "c").RTT; got != 7*time.Millisecond {
		t.Errorf("RTT %v after its session ended, want the other session's 7ms", got)
	}
	r.SetRTT(s1, time.Second) // ended: ignored
	if got := statusOf(t, r, "c").RTT; got != 7*time.Millisecond {
		t.Errorf("RTT %v: a detached session's ping counted", got)
	}
}

// SignOnReports returns copies of each connector's latest report: what
// the caller does with them does not reach the registry's routing.
func TestSignOnReports(t *testing.T) {
	r := New(newClock(), time.Minute)
	a1, _ := newTunnel(t, "a")
	a2, _ := newTunnel(t, "a")
	old, _ := newTunnel(t, "old")
	defer r.Attach("a", "g", a1)()
	defer r.Attach("a", "g", a2)()
	defer r.Attach("old", "g", old)()
	r.Report(a1, 2, &tunnel.SignOnReport{Plugins: []tunnel.PluginInfo{{Name: "header", Builtin: true}, {Name: "tenant-sig"}},
		Accepted: []string{"hr"}, Refused: []tunnel.SignOnRefusal{refusal("crm", "checksum mismatch")}})
	r.Report(a2, 1, &tunnel.SignOnReport{Plugins: []tunnel.PluginInfo{{Name: "header", Builtin: true}}})
	r.Report(old, 2, nil)
	reps := r.SignOnReports()
	if _, ok := reps["old"]; ok || len(reps) != 1 {
		t.Fatalf("reports %+v: want a's only (old reports none)", reps)
	}
	a := reps["a"]
	if len(a.Plugins) != 2 || a.Plugins[1].Name != "tenant-sig" || len(a.Accepted) != 1 || len(a.Refused) != 1 || a.Refused[0].App != "crm" {
		t.Fatalf("a's report %+v: want that of its session on the newest config", a)
	}
	a.Accepted[0], a.Refused[0].App, a.Plugins[0].Name = "crm", "hr", "x"
	again := r.SignOnReports()["a"]
	if again.Accepted[0] != "hr" || again.Refused[0].App != "crm" || again.Plugins[0].Name != "header" {
		t.Errorf("changing a returned report changed the registry's: %+v", again)
	}
	r.SetSignOns(map[string]SignOnNeed{"hr": {Plugin: "tenant-sig", Since: 2}})
	if got := dialApp(t, r, "g", "hr", 5); got["a"] != 5 {
		t.Errorf("hr's requests went to %v, want a (its session on config 2 accepted hr)", got)
	}
}
