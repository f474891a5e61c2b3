package tunnel

import (
	"bytes"
	"reflect"
	"testing"
)

// A ready from a connector older than sign-on reports decodes with no
// report (the gateway then trusts it with built-in plug-ins only); a
// report survives the wire whole.
func TestReadySignOnReportOnTheWire(t *testing.T) {
	var old Message
	if err := ReadFrame(bytes.NewReader(frame(t, `{"type":"ready","ready":{"config_version":3}}`)), &old); err != nil {
		t.Fatal(err)
	}
	if old.Ready == nil || old.Ready.ConfigVersion != 3 || old.Ready.SignOn != nil {
		t.Fatalf("an older connector's ready decoded as %+v", old.Ready)
	}
	want := Message{Type: MsgReady, Ready: &Ready{ConfigVersion: 4, SignOn: &SignOnReport{
		Plugins:  []PluginInfo{{Name: "header", Builtin: true}, {Name: "tenant-sig", SHA256: "ab12"}},
		Accepted: []string{"crm"},
		Refused:  []SignOnRefusal{{App: "hr", Plugin: "tenant-sig", Field: "sign_on.config.key_file", Message: "required"}},
	}}}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, want); err != nil {
		t.Fatal(err)
	}
	var got Message
	if err := ReadFrame(&buf, &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: %+v, %v", got.Ready, err)
	}
	if s := want.Ready.SignOn.Refused[0].String(); s != `app "hr": sign_on.config.key_file: required` {
		t.Fatalf("String() = %s", s)
	}
}

// frame writes a JSON control frame as an older peer would.
func frame(t *testing.T, js string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteFrame(&buf, rawJSON(js)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
