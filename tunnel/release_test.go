package tunnel

import (
	"bytes"
	"io"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/release"
)

// The update messages survive the wire whole, and a hello from a
// connector older than trials decodes as a normal session.
func TestUpdateMessagesOnTheWire(t *testing.T) {
	msgs := []Message{
		{Type: MsgHello, Hello: &Hello{Version: "v1.2.0", Hostname: "h", Session: 1, Trial: true, OS: "linux", Arch: "amd64"}},
		{Type: MsgUpdate, Update: &Update{
			Release:            release.Release{Manifest: []byte(`{"version":"v1.3.0"}`), Signature: []byte{1, 2, 3}},
			Chain:              []release.Endorsement{{NewKey: "gatehouse-release-ed25519:AAAA", Signature: []byte{9}}},
			TrialTimeoutMillis: 30000,
		}},
		{Type: MsgUpdateStatus, UpdateStatus: &UpdateStatus{Version: "v1.3.0", Phase: PhaseTrialFailed, Error: "exit status 1"}},
		{Type: MsgTrialPassed},
	}
	for _, want := range msgs {
		var buf bytes.Buffer
		if err := WriteFrame(&buf, want); err != nil {
			t.Fatal(err)
		}
		var got Message
		if err := ReadFrame(&buf, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s round trip: %+v, %v", want.Type, got, err)
		}
	}
	var old Message
	if err := ReadFrame(bytes.NewReader(frame(t, `{"type":"hello","hello":{"version":"v1.0.0","hostname":"h","session":0}}`)), &old); err != nil {
		t.Fatal(err)
	}
	if old.Hello == nil || old.Hello.Trial {
		t.Fatalf("an older connector's hello decoded as %+v", old.Hello)
	}
}

// A release stream: the request frame, then the response frame followed
// by exactly Size raw bytes, read back in order.
func TestReleaseStreamOnTheWire(t *testing.T) {
	req := ReleaseRequest{Type: ReleaseStreamType, Version: "v1.3.0", OS: "linux", Arch: "amd64"}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, req); err != nil {
		t.Fatal(err)
	}
	var gotReq ReleaseRequest
	if err := ReadFrame(&buf, &gotReq); err != nil || gotReq != req {
		t.Fatalf("request round trip: %+v, %v", gotReq, err)
	}
	bin := bytes.Repeat([]byte("\x7fELF"), 1000)
	if err := WriteFrame(&buf, ReleaseResponse{Size: int64(len(bin))}); err != nil {
		t.Fatal(err)
	}
	buf.Write(bin)
	var resp ReleaseResponse
	if err := ReadFrame(&buf, &resp); err != nil || resp.Error != "" || resp.Size != int64(len(bin)) {
		t.Fatalf("response: %+v, %v", resp, err)
	}
	got, err := io.ReadAll(io.LimitReader(&buf, resp.Size))
	if err != nil || !bytes.Equal(got, bin) {
		t.Fatalf("binary: %d bytes, %v", len(got), err)
	}
	if err := WriteFrame(&buf, ReleaseResponse{Error: "no release v9.9.9 for linux/arm64"}); err != nil {
		t.Fatal(err)
	}
	if err := ReadFrame(&buf, &resp); err != nil || resp.Error == "" || resp.Size != 0 {
		t.Fatalf("error response: %+v, %v", resp, err)
	}
}
