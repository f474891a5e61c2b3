// Package rollout updates a group's connectors to a signed release, one
// connector at a time and only while another connector of the group is
// active (unless the group allows a single one): it sends the connector
// an update over its tunnel, follows the connector's reports, and waits for
// it to come back on the new version before the next. A failure stops the
// group's rollout and is recorded in the store (rollouts/<group>), where
// 'gatehouse connectors' shows it. Rollouts start by themselves for groups
// with policy auto (inside their window), or on 'gatehouse connectors
// update' (a request blob rollouts/<group>/request). In a cluster, one node
// at a time runs a group's rollout (store lock rollout/<group>).
package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/core/store"
)

// Prefix is the store key rollout state lives under.
const Prefix = "rollouts/"

// Connector update states, in GroupState.Connectors.
const (
	StateUpdating = "updating" // sent an update; Phase says how far it got
	StateUpdated  = "updated"
	StateFailed   = "failed"
)

// GroupState is a group's latest rollout, as stored at rollouts/<group>.
type GroupState struct {
	Group string `json:"group"`
	// Version is the rollout's target (the last one when several OS/arch
	// builds differ).
	Version string `json:"version,omitempty"`
	// Stopped: the rollout failed at Version; an auto rollout does not
	// try that version again (a newer release or 'gatehouse connectors
	// update' starts over).
	Stopped bool      `json:"stopped,omitempty"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
	// Connectors is each connector's latest update, by id.
	Connectors map[string]ConnectorUpdate `json:"connectors,omitempty"`
}

// ConnectorUpdate is one connector's latest update.
type ConnectorUpdate struct {
	State   string    `json:"state"`           // StateUpdating, StateUpdated, StateFailed
	Phase   string    `json:"phase,omitempty"` // the connector's latest report
	Version string    `json:"version"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
}

// Request is a rollout started by hand, at rollouts/<group>/request.
type Request struct {
	Version string    `json:"version,omitempty"` // "" = the pinned or newest release
	At      time.Time `json:"at"`
}

func stateKey(group string) string   { return Prefix + group }
func requestKey(group string) string { return Prefix + group + "/request" }

// IsRequestKey reports whether a store key is a rollout request, and for
// which group.
func IsRequestKey(key string) (string, bool) {
	g, ok := strings.CutSuffix(strings.TrimPrefix(key, Prefix), "/request")
	return g, ok && strings.HasPrefix(key, Prefix) && g != "" && !strings.Contains(g, "/")
}

// Load returns a group's rollout state; a group never rolled out has an
// empty one.
func Load(ctx context.Context, st store.Store, group string) (GroupState, error) {
	gs := GroupState{Group: group}
	b, err := st.GetBlob(ctx, stateKey(group))
	if errors.Is(err, store.ErrNotFound) {
		return gs, nil
	}
	if err != nil {
		return gs, fmt.Errorf("reading the rollout state of group %s: %w", group, err)
	}
	if err := json.Unmarshal(b.Value, &gs); err != nil {
		return GroupState{Group: group}, fmt.Errorf("store key %s is not a rollout state: %v", stateKey(group), err)
	}
	return gs, nil
}

func save(ctx context.Context, st store.Store, gs GroupState) error {
	b, err := json.Marshal(gs)
	if err != nil {
		return err
	}
	return st.PutBlob(ctx, stateKey(gs.Group), b, gs.At)
}

// RequestUpdate asks the gateway to roll group out now, to version (""
// for the pinned or newest release): the node that runs the group's
// rollout picks it up from the store.
func RequestUpdate(ctx context.Context, st store.Store, group, version string, now time.Time) error {
	b, err := json.Marshal(Request{Version: version, At: now})
	if err != nil {
		return err
	}
	return st.PutBlob(ctx, requestKey(group), b, now)
}

func takeRequest(ctx context.Context, st store.Store, group string) (*Request, error) {
	b, err := st.GetBlob(ctx, requestKey(group))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r Request
	if err := json.Unmarshal(b.Value, &r); err != nil {
		r = Request{} // a damaged request still asks for a rollout
	}
	_, err = st.DeleteBlobs(ctx, requestKey(group))
	return &r, err
}
