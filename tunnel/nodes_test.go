package tunnel

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// A nodes message survives the wire whole; a connector older than it
// decodes the frame with the field dropped (unknown JSON fields are
// ignored), and a message of an unknown type still decodes.
func TestNodesOnTheWire(t *testing.T) {
	want := Message{Type: MsgNodes, Nodes: &NodeList{Nodes: []NodeInfo{
		{ID: "a", Addr: "10.0.0.1:7443"}, {ID: "b", Addr: "gw-b.example.com:7443", Draining: true}}}}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, want); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"draining":true`) || !strings.Contains(buf.String(), `"addr":"10.0.0.1:7443"`) {
		t.Fatalf("nodes frame %s: want snake_case fields", buf.Bytes()[4:])
	}
	var got Message
	if err := ReadFrame(&buf, &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: %+v, %v", got.Nodes, err)
	}
	type olderMessage struct {
		Type   string  `json:"type"`
		Config *Config `json:"config,omitempty"`
	}
	var old olderMessage
	if err := ReadFrame(bytes.NewReader(frame(t, `{"type":"nodes","nodes":{"nodes":[{"addr":"h:1"}]}}`)), &old); err != nil || old.Type != MsgNodes {
		t.Fatalf("an older connector reads the nodes frame as %+v, %v", old, err)
	}
}

func TestNodeListCheck(t *testing.T) {
	many := &NodeList{}
	for i := range MaxNodes + 1 {
		many.Nodes = append(many.Nodes, NodeInfo{Addr: fmt.Sprintf("10.0.0.%d:7443", i)})
	}
	tests := []struct {
		name    string
		list    *NodeList
		wantErr string
	}{
		{"good", &NodeList{Nodes: []NodeInfo{{ID: "a", Addr: "10.0.0.1:7443"}, {Addr: "[::1]:7443"}, {Addr: "gw.example.com:443"}}}, ""},
		{"empty", &NodeList{}, ""},
		{"exactly the maximum", &NodeList{Nodes: many.Nodes[:MaxNodes]}, ""},
		{"missing", nil, "missing"},
		{"too many", many, "more than the 64"},
		{"no port", &NodeList{Nodes: []NodeInfo{{Addr: "10.0.0.1"}}}, "not HOST:PORT"},
		{"no host", &NodeList{Nodes: []NodeInfo{{Addr: ":7443"}}}, "names no host"},
		{"wildcard host", &NodeList{Nodes: []NodeInfo{{Addr: "0.0.0.0:7443"}}}, "names no host"},
		{"port zero", &NodeList{Nodes: []NodeInfo{{Addr: "h:0"}}}, "port \"0\""},
		{"port a name", &NodeList{Nodes: []NodeInfo{{Addr: "h:https"}}}, "not a number"},
		{"a URL", &NodeList{Nodes: []NodeInfo{{Addr: "https://h:7443/"}}}, "not HOST:PORT"},
		{"long id", &NodeList{Nodes: []NodeInfo{{ID: strings.Repeat("x", 300), Addr: "h:1"}}}, "id of 300 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.list.Check()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
