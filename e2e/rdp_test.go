package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// freeRDPSequence is what FreeRDP 2 logs (at /log-level:DEBUG) as it goes
// through the RDP connection sequence, in order: the security negotiation
// ends in TLS, then MCS connect, channel join, licensing, the capability
// exchange, finalization and the active state, then the server's first
// screen updates (the login screen's bitmaps).
var freeRDPSequence = []string{
	"Negotiated TLS security",
	"CONNECTION_STATE_NEGO --> CONNECTION_STATE_MCS_CONNECT",
	"CONNECTION_STATE_MCS_CHANNEL_JOIN --> CONNECTION_STATE_LICENSING",
	"CONNECTION_STATE_LICENSING --> CONNECTION_STATE_CAPABILITIES_EXCHANGE",
	"CONNECTION_STATE_CAPABILITIES_EXCHANGE --> CONNECTION_STATE_FINALIZATION",
	"CONNECTION_STATE_FINALIZATION --> CONNECTION_STATE_ACTIVE",
	"recv Update Data PDU",
}

// TestRDP: a real RDP client reaches a real RDP server through Gatehouse.
// xrdp (Debian's) runs behind a connector as a TCP app; FreeRDP's
// xfreerdp, under Xvfb, connects to `gatehouse connect --listen`, goes
// through the whole RDP connection sequence (asserted on FreeRDP's log)
// and shows xrdp's login screen, kept as a PNG under
// e2e/artifacts/rdp/ (or $GATEHOUSE_ARTIFACTS). Without a valid token
// `gatehouse connect` refuses and xrdp sees no connection. xrdp runs in
// the foreground as the test's user (root in CI) with its own config; it
// needs neither systemd nor xrdp-sesman to show its login screen.
func TestRDP(t *testing.T) {
	tools, missing := findRDPTools()
	if missing != "" {
		t.Skipf("%s is not installed (make tools runs scripts/install-rdp.sh: xrdp, freerdp2-x11, xvfb, x11-apps)", missing)
	}
	xrdp := startXRDP(t, tools.xrdp)
	sum := sha256.Sum256([]byte("Bearer tok-alice"))
	auth := fmt.Sprintf("{plugin: apikeys, config: {header: Authorization, keys: [{sha256: %s, subject: alice, groups: [admins]}]}}", hex.EncodeToString(sum[:]))
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf("  - {name: apikeys, path: %q, sha256: %s}\n", customSSOBin, fileSum(t, customSSOBin))}
	g := startGatewayWith(t, base, []appSpec{{Name: "rdp", Host: "rdp.localhost", Group: "default", Auth: auth,
		Access: "{groups: [admins]}", TCP: fmt.Sprintf("{backend: %q}", xrdp.addr)}})
	conn := enrollConnector(t, g, "connector", "default")
	dial := func(token string) (*websocket.Conn, *http.Response, error) {
		h := http.Header{}
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		return websocket.Dial(context.Background(), "https://rdp.localhost/.gatehouse/tcp", &websocket.DialOptions{
			HTTPClient: g.client(false), HTTPHeader: h, Subprotocols: []string{"gatehouse-tcp"}})
	}
	accepted := func() int { return len(xrdp.lines("connection received from")) }
	// Ready when a connection through the gateway reaches xrdp: the probe
	// stays open until xrdp has logged it, so no late line of it lands in
	// the counts below.
	eventually(t, "the connector to carry a connection to xrdp", func() bool {
		ws, _, err := dial("tok-alice")
		if err != nil {
			return false
		}
		defer ws.CloseNow()
		eventually(t, "xrdp to log the probe's connection", func() bool { return accepted() > 0 })
		return true
	})
	x := startXvfb(t, tools.xvfb)
	home := t.TempDir() // FreeRDP keeps its known hosts under $HOME/.config
	xfreerdp := func(addr string) *proc {
		return startMerged(t, "xfreerdp", []string{"DISPLAY=" + x.display, "HOME=" + home}, tools.xfreerdp,
			"/v:"+addr, "/cert:ignore", "/log-level:DEBUG", "/w:1024", "/h:768", "-grab-keyboard")
	}
	connect := func(token string) (*proc, string) {
		addr := freeAddr(t)
		p := startProc(t, "gatehouse connect", gatehouseBin, "connect", "https://rdp.localhost", "--listen", addr,
			"--token", token, "--ca-file", g.devCAFile(), "--connect-to", g.public)
		p.log.waitLines(t, "gatehouse connect to listen", 1, "listening on "+addr)
		return p, addr
	}

	t.Run("no valid token: refused before xrdp sees a byte", func(t *testing.T) {
		before := accepted()
		if _, resp, err := dial(""); err == nil || status(resp) != http.StatusUnauthorized {
			t.Fatalf("no token: want 401, got %v %v", status(resp), err)
		}
		client, addr := connect("tok-wrong")
		defer client.kill()
		rdp := xfreerdp(addr)
		if code := rdp.wait(t); code == 0 {
			t.Fatalf("xfreerdp exited 0 without a valid token")
		}
		client.log.waitLines(t, "gatehouse connect to say why", 1, "refused the token (401)")
		if n := accepted() - before; n != 0 {
			t.Fatalf("xrdp logged %d connections without a valid token:\n%s", n, xrdp.tail(4<<10))
		}
	})

	t.Run("xfreerdp shows xrdp's login screen through gatehouse connect", func(t *testing.T) {
		before := accepted()
		client, addr := connect("tok-alice")
		rdp := xfreerdp(addr)
		eventually(t, "FreeRDP's log to show the RDP connection sequence", func() bool {
			rdp.requireAlive(t)
			return rdp.log.ContainsInOrder(freeRDPSequence...)
		})
		eventually(t, "xrdp's TLS line", func() bool { return len(xrdp.lines("TLS connection established from")) > 0 })
		if n := accepted() - before; n != 1 {
			t.Fatalf("xrdp logged %d connections, want 1", n)
		}
		if l := xrdp.lines("Security protocol:"); len(l) != 1 || !strings.Contains(l[0], "selected [SSL]") {
			t.Fatalf("xrdp's security protocol lines (xfreerdp's only: the probe sent nothing): %q", l)
		} else {
			t.Logf("xrdp: %s", l[0])
		}
		// The login screen's colours, set in xrdp.ini, painted by xrdp and
		// drawn by FreeRDP into Xvfb (black until then, -br): wait until
		// they cover the screen.
		blue, grey := rgb(t, xrdpBlueRGB), rgb(t, xrdpGreyRGB)
		var (
			img      image.Image
			distinct int
			counts   []int
		)
		eventually(t, "xrdp's login window on the Xvfb screen", func() bool {
			img = x.screenshot(t, tools.xwd)
			distinct, counts = colourStats(img, blue, grey)
			return counts[0] > 2000 && counts[1] > 50000 && distinct >= 4
		})
		saveArtifact(t, "rdp", "xrdp-login.png", img)
		t.Logf("screen %v: %d colours; %d pixels of the desktop and title bar (#%s), %d of the login window (#%s)",
			img.Bounds().Size(), distinct, counts[0], xrdpBlueRGB, counts[1], xrdpGreyRGB)
		rdp.kill()
		client.kill()
		g.proc.log.waitLines(t, "the gateway's access line", 1, "msg=access", "app=rdp", "user=alice")
		conn.log.waitLines(t, "the connector's access line", 1, "msg=access", "app=rdp", "method=TCP")
	})
}

// rgb parses a six-digit hex colour as xrdp.ini writes them.
func rgb(t *testing.T, hex string) color.RGBA {
	t.Helper()
	v, err := strconv.ParseUint(hex, 16, 32)
	must(t, err)
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}
}
