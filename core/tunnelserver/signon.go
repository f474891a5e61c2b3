package tunnelserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
	"github.com/gatehouse/gatehouse/tunnel"
)

// SignOnStatus is what a connector last reported about its sign-on
// plug-ins, kept in the store (under SignOnKey) for 'gatehouse connectors'.
type SignOnStatus struct {
	// Since is when the gateway first got this report.
	Since time.Time `json:"since"`
	// Version is the connector's version.
	Version string `json:"version"`
	// Reported is false for a connector that sends no report (a version
	// older than reports): it gets only apps with built-in plug-ins.
	Reported bool                   `json:"reported"`
	Plugins  []tunnel.PluginInfo    `json:"plugins,omitempty"`
	Accepted []string               `json:"accepted,omitempty"`
	Refused  []tunnel.SignOnRefusal `json:"refused,omitempty"`
}

// SignOnKey is the store blob of connector id's SignOnStatus.
func SignOnKey(id string) string { return "connectors/" + id + "/sign-on" }

// LoadSignOnStatus reads connector id's last report; nil without one.
func LoadSignOnStatus(ctx context.Context, st store.Store, id string) (*SignOnStatus, error) {
	b, err := st.GetBlob(ctx, SignOnKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s SignOnStatus
	if err := json.Unmarshal(b.Value, &s); err != nil {
		return nil, fmt.Errorf("reading connector %s's sign-on report: %w", id, err)
	}
	return &s, nil
}

// Limits on what a connector may report: the gateway stores it, logs it,
// shows it on a terminal and on error pages.
const (
	maxReportItems = 1024
	maxShort       = 128 // names, fields, checksums
	maxMessage     = 512
)

// cleanReport bounds a connector's report and makes every string safe to
// print: no control characters (a terminal escape), nothing overlong.
func cleanReport(r *tunnel.SignOnReport) *tunnel.SignOnReport {
	if r == nil {
		return nil
	}
	out := &tunnel.SignOnReport{}
	for _, p := range r.Plugins[:min(len(r.Plugins), maxReportItems)] {
		out.Plugins = append(out.Plugins, tunnel.PluginInfo{Name: clean(p.Name, maxShort), Builtin: p.Builtin, SHA256: clean(p.SHA256, maxShort)})
	}
	for _, a := range r.Accepted[:min(len(r.Accepted), maxReportItems)] {
		out.Accepted = append(out.Accepted, clean(a, maxShort))
	}
	for _, f := range r.Refused[:min(len(r.Refused), maxReportItems)] {
		out.Refused = append(out.Refused, tunnel.SignOnRefusal{App: clean(f.App, maxShort), Plugin: clean(f.Plugin, maxShort),
			Field: clean(f.Field, maxShort), Message: clean(f.Message, maxMessage)})
	}
	return out
}

// clean replaces control characters and invalid UTF-8 with "?" and cuts s
// to at most n bytes.
func clean(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
	if len(s) > n {
		cut := n
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xc0 != 0x80 }

// recordSignOn keeps session s's report in the store and logs what it
// refused, when it differs from the last one recorded for the connector.
func (h *Hub) recordSignOn(ctx context.Context, s *session, version string, rep *tunnel.SignOnReport) {
	st := SignOnStatus{Version: version, Reported: rep != nil}
	if rep != nil {
		st.Plugins, st.Accepted, st.Refused = rep.Plugins, rep.Accepted, rep.Refused
	}
	key, _ := json.Marshal(st)
	h.mu.Lock()
	if h.signOns == nil {
		h.signOns = map[string][]byte{}
	}
	same := bytes.Equal(h.signOns[s.id], key)
	h.signOns[s.id] = key
	h.mu.Unlock()
	if same {
		return
	}
	if rep == nil {
		s.log.Info("connector reports no sign-on plug-ins (a version older than reports): it gets only apps with built-in sign-on plug-ins")
	}
	for _, r := range st.Refused {
		s.log.Warn("connector refused an app's sign-on: the app's requests go to other connectors of the group",
			"app", r.App, "plugin", r.Plugin, "field", r.Field, "error", r.Message)
	}
	st.Since = h.Clock.Now()
	b, _ := json.Marshal(st)
	if err := h.Store.PutBlob(ctx, SignOnKey(s.id), b, st.Since); err != nil {
		s.log.Warn("recording the connector's sign-on report", "error", err)
		h.mu.Lock()
		delete(h.signOns, s.id) // the next ready tries again
		h.mu.Unlock()
	}
}
