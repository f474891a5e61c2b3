package sdk_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/sdk"
)

func TestFailure(t *testing.T) {
	res := sdk.Failure(403, "Sign-in refused", "The identity provider did not let you in.")
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != sdk.OutcomeChallenge || res.Status != 403 || res.Page == nil || res.Page.Title != "Sign-in refused" ||
		string(res.Body) != "Sign-in refused: The identity provider did not let you in.\n" {
		t.Fatalf("Failure = %+v", res)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back sdk.AuthResult
	if err := json.Unmarshal(b, &back); err != nil || back.Page == nil || *back.Page != *res.Page {
		t.Fatalf("the page did not survive the wire: %s (%v)", b, err)
	}
	res.Page.Title = ""
	if err := res.Validate(); err == nil || !strings.Contains(err.Error(), "Title") {
		t.Fatalf("a page without a title: %v", err)
	}
	res.Page = &sdk.Page{Title: "x", Text: strings.Repeat("a", 3000)}
	if err := res.Validate(); err == nil {
		t.Fatal("a 3000-byte page text was accepted")
	}
}
