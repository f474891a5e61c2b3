package s4u

import (
	"fmt"
	"testing"

	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// One token for a ticket, no KDC: Negotiate (parts kept with the ticket)
// against gokrb5 building it whole, per enctype (18 is what MIT and AD pick).
//
//	go test ./plugins/kcd/internal/s4u -run '^$' -bench Negotiate -benchmem
func BenchmarkNegotiate(b *testing.B) {
	alice := types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"alice"}}
	for _, e := range testEtypes {
		tk, err := serviceTicket(b, e, alice, testRealm, types.NewKrbFlags())
		if err != nil {
			b.Fatal(err)
		}
		for _, way := range []struct {
			name string
			make func(*Ticket) (string, error)
		}{{"parts", (*Ticket).Negotiate}, {"gokrb5", negotiateGokrb5}} {
			b.Run(fmt.Sprintf("etype=%d/%s", e, way.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := way.make(tk); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// Negotiate on one ticket from every P: the ticket is shared through the
// plug-in's cache.
func BenchmarkNegotiateParallel(b *testing.B) {
	tk, err := serviceTicket(b, 18, types.PrincipalName{NameType: nametype.KRB_NT_PRINCIPAL, NameString: []string{"alice"}},
		testRealm, types.NewKrbFlags())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tk.Negotiate(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
