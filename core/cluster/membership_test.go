package cluster

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// ids describes list: ID@address, with "(draining)" and "#hash" marks.
func ids(list []store.Node) []string {
	var out []string
	for _, n := range list {
		s := n.ID + "@" + n.TunnelAddr
		if n.Draining {
			s += "(draining)"
		}
		if n.ConfigHash != "" {
			s += "#" + n.ConfigHash
		}
		out = append(out, s)
	}
	return out
}

// waitList receives lists from c until one equals want.
func waitList(t *testing.T, c <-chan []store.Node, want ...string) {
	t.Helper()
	for {
		got := ids(recv(t, "the node list "+strings.Join(want, " "), c))
		if slices.Equal(got, want) {
			return
		}
	}
}

// TestMembershipFollowsJoinsChangesAndLeaves: node A, heart-beating only
// once an hour, sees node B join, drain, change its config and leave
// through the change feed.
func TestMembershipFollowsJoinsChangesAndLeaves(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, _ := b.fresh(t)
		stA, stB := open(t), open(t)
		f := NewFollower(stA, FollowerOptions{FastPoll: 10 * time.Millisecond})
		a := NewMembership(stA, store.Node{ID: "a", TunnelAddr: "10.0.0.1:8443"}, MembershipOptions{Interval: time.Hour})
		a.Follow(f)
		lists := make(chan []store.Node, 100)
		a.Subscribe(func(l []store.Node) { lists <- l })
		run(t, f.Run)
		run(t, a.Run)
		waitList(t, lists, "a@10.0.0.1:8443")
		bm := NewMembership(stB, store.Node{ID: "b", TunnelAddr: "10.0.0.2:8443"}, MembershipOptions{Interval: time.Hour})
		run(t, bm.Run)
		waitList(t, lists, "a@10.0.0.1:8443", "b@10.0.0.2:8443")
		bm.SetConfig("abc", time.Now())
		waitList(t, lists, "a@10.0.0.1:8443", "b@10.0.0.2:8443#abc")
		bm.SetDraining(true)
		waitList(t, lists, "a@10.0.0.1:8443", "b@10.0.0.2:8443(draining)#abc")
		if err := bm.Leave(t.Context()); err != nil {
			t.Fatal(err)
		}
		waitList(t, lists, "a@10.0.0.1:8443")
		if err := bm.Heartbeat(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := ids(a.Nodes()); !slices.Equal(got, []string{"a@10.0.0.1:8443"}) {
			t.Fatalf("after Leave and a heartbeat: nodes %v, want only a", got)
		}
		if self := a.Self(); self.StartedAt.IsZero() || self.LastSeen.IsZero() {
			t.Fatalf("Self = %+v: StartedAt and LastSeen must be set", self)
		}
	})
}

// TestMembershipDropsSilentNodes: a node that stops heart-beating is
// removed from the store and from the list after 3 intervals.
func TestMembershipDropsSilentNodes(t *testing.T) {
	forEach(t, func(t *testing.T, b backend) {
		open, _ := b.fresh(t)
		stA, stB := open(t), open(t)
		silent := NewMembership(stB, store.Node{ID: "silent", TunnelAddr: "10.0.0.9:8443"}, MembershipOptions{Interval: 20 * time.Millisecond})
		if err := silent.Heartbeat(t.Context()); err != nil { // once, then never again
			t.Fatal(err)
		}
		a := NewMembership(stA, store.Node{ID: "a", TunnelAddr: "10.0.0.1:8443"}, MembershipOptions{Interval: 20 * time.Millisecond})
		lists := make(chan []store.Node, 100)
		a.Subscribe(func(l []store.Node) { lists <- l })
		run(t, a.Run)
		waitList(t, lists, "a@10.0.0.1:8443")
		all, err := stB.ListNodes(t.Context())
		if err != nil || len(all) != 1 || all[0].ID != "a" {
			t.Fatalf("the store lists %+v, %v; want only a", all, err)
		}
	})
}
