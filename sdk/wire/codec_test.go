package wire_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/wire"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The codec speaks JSON for the sdk's structs and protobuf for go-plugin's
// own protobuf messages, on the same connection.
func TestCodec(t *testing.T) {
	var c wire.Codec
	b, err := c.Marshal(sdk.NotMine())
	if err != nil || string(b) != `{"outcome":"not_mine"}` {
		t.Fatalf("JSON: %s, %v", b, err)
	}
	var res sdk.AuthResult
	if err := c.Unmarshal([]byte(`{"outcome":"redirect","location":"/x","state":"c3RhdGU="}`), &res); err != nil ||
		res.Outcome != sdk.OutcomeRedirect || string(res.State) != "state" {
		t.Fatalf("JSON decode: %+v, %v", res, err)
	}
	b, err = c.Marshal(wrapperspb.String("hello"))
	if err != nil {
		t.Fatal(err)
	}
	got := new(wrapperspb.StringValue)
	if err := c.Unmarshal(b, got); err != nil || got.GetValue() != "hello" || b[0] != 0x0a {
		t.Fatalf("protobuf: % x → %v, %v", b, got, err)
	}
	if err := c.Unmarshal([]byte(`{`), &res); err == nil {
		t.Fatal("bad JSON decoded")
	}
}
