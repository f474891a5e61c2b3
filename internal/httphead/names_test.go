package httphead

import "testing"

func TestNames(t *testing.T) {
	for _, tt := range []struct {
		k                                               string
		underscored, gatehouse, identity, set, hopByHop bool
	}{
		{k: "X-Remote-User", identity: true},
		{k: "x-remote-groups", identity: true},
		{k: "Remote-User", identity: true},
		{k: "X-Auth-Request-Email", identity: true},
		{k: "X-WEBAUTH-USER", identity: true},
		{k: "X-Forwarded-User", identity: true},
		{k: "X-Forwarded-Preferred-Username", identity: true},
		{k: "X_Remote_User", underscored: true},
		{k: "X-Gatehouse-User", gatehouse: true},
		{k: "x-gatehouse-error", gatehouse: true},
		{k: "X-Forwarded-Proto", set: true},
		{k: "x-request-id", set: true},
		{k: "CONNECTION", hopByHop: true},
		{k: "Te", hopByHop: true},
		{k: "X-Remotes"},
		{k: "Remote"},
		{k: "X-Forwarded-Port"},
		{k: "Accept"},
	} {
		if Underscored(tt.k) != tt.underscored || Gatehouse(tt.k) != tt.gatehouse || Identity(tt.k) != tt.identity ||
			GatewaySet(tt.k) != tt.set || HopByHop(tt.k) != tt.hopByHop {
			t.Errorf("%s: underscored %v, gatehouse %v, identity %v, gateway-set %v, hop-by-hop %v; want %+v",
				tt.k, Underscored(tt.k), Gatehouse(tt.k), Identity(tt.k), GatewaySet(tt.k), HopByHop(tt.k), tt)
		}
	}
}

func TestTrailerRefusal(t *testing.T) {
	for k, refused := range map[string]bool{
		"X-Checksum": false, "Grpc-Status": false, "Server-Timing": false,
		"X-Remote-User": true, "X_Checksum": true, "X-Gatehouse-User": true, "X-Forwarded-For": true,
		"Cookie": true, "Authorization": true, "Content-Length": true, "Host": true, "If-Match": true,
		"Trailer": true, "Bad Name": true, "": true,
	} {
		if got := TrailerRefusal(k) != ""; got != refused {
			t.Errorf("TrailerRefusal(%q) = %q; want refused %v", k, TrailerRefusal(k), refused)
		}
	}
}
