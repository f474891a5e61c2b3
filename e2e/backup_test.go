package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestBackupAndRestore backs up a serving gateway's store with
// "gatehouse store backup" while users sign in, restores the copy into a
// fresh gateway (stop it, replace the store file, start it) on the old
// gateway's addresses, and shows that everything the store held survived:
// the enrolled connector reconnects by itself with its certificate, a
// session cookie from before still admits its user, and the sign-in log
// and the connector list are those of the old gateway.
func TestBackupAndRestore(t *testing.T) {
	backend := newIdentityBackend(t, "x")
	key := func(k, sub, groups string) string {
		sum := sha256.Sum256([]byte(k))
		return fmt.Sprintf("{sha256: %s, subject: %s, groups: [%s]}", hex.EncodeToString(sum[:]), sub, groups)
	}
	base := gwConfig{Groups: []string{"default"}, Plugins: fmt.Sprintf(
		"  - {name: apikeys, path: %q, sha256: %s}\n  - {name: header, builtin: true}\n", customSSOBin, fileSum(t, customSSOBin))}
	apps := []appSpec{{Name: "grp", Host: "grp.localhost", Group: "default", URL: backend.URL,
		Auth:   fmt.Sprintf("{plugin: apikeys, config: {keys: [%s, %s]}}", key("k-alice", "alice", "hr"), key("k-bob", "bob", "staff")),
		SignOn: `{plugin: header, config: {headers: {X-Remote-User: "{{.Subject}}"}}}`, Access: "{groups: [hr]}"}}

	old := startGatewayWith(t, base, apps)
	conn := enrollConnector(t, old, "connector", "default")
	c := old.client(false)
	var cookie string
	eventually(t, "alice signed in through the connector", func() bool {
		r := getWith(t, c, "https://grp.localhost/", "X-Api-Key", "k-alice")
		for _, sc := range (&http.Response{Header: r.Header}).Cookies() {
			if sc.Name == "__Host-gatehouse.grp" {
				cookie = sc.Name + "=" + sc.Value
			}
		}
		return r.Status == 200 && cookie != ""
	})
	requireErrorPage(t, getWith(t, c, "https://grp.localhost/", "X-Api-Key", "k-bob"), http.StatusForbidden, "Access denied")

	// Sign-ins keep writing to the store while the backup runs.
	var signedIn atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			req := mustRequest(t, "https://grp.localhost/load")
			req.Header.Set("X-Api-Key", "k-alice")
			if r, err := do(t, c, req); err == nil && r.Status == 200 {
				signedIn.Add(1)
			}
		}
	})
	eventually(t, "sign-ins under way", func() bool { return signedIn.Load() > 0 })
	file := filepath.Join(t.TempDir(), "gatehouse-backup.db")
	before := signedIn.Load()
	out, errOut, code := runCmd(t, old.dir, gatehouseBin, "store", "backup", "--config", old.configPath, file)
	t.Logf("store backup (%d sign-ins during it): exit %d %s%s", signedIn.Load()-before, code, out, errOut)
	close(stop)
	wg.Wait()
	if code != 0 || !strings.Contains(out, "integrity check ok") {
		t.Fatalf("store backup: exit %d\n%s%s", code, out, errOut)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the backup file: %v, %v; want mode 0600", fi, err)
	}
	if _, errOut, code := runCmd(t, old.dir, gatehouseBin, "store", "backup", "--config", old.configPath, file); code != 1 || !strings.Contains(errOut, "refusing to overwrite") {
		t.Fatalf("a backup onto an existing file: exit %d %q; want 1 and a refusal", code, errOut)
	}
	if _, errOut, code := runCmd(t, old.dir, gatehouseBin, "store", "backup", "--config", old.configPath); code != 2 {
		t.Fatalf("store backup without FILE: exit %d %q; want 2", code, errOut)
	}
	old.stop() // the old gateway is lost

	// A fresh gateway: its own new store, which knows nothing.
	fresh := startGatewayWith(t, base, apps)
	if list := fresh.connectorsCLI(); strings.Contains(list, conn.id(t)) {
		t.Fatalf("the fresh gateway already lists the connector:\n%s", list)
	}
	fresh.stop()
	store := filepath.Join(fresh.dataDir, "gatehouse.db")
	for _, f := range []string{store, store + "-wal", store + "-shm"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(store, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fresh.public, fresh.tunnel = old.public, old.tunnel // where the connector and users still go
	fresh.writeConfigText(specYAML(base, apps, fresh.public, fresh.tunnel, fresh.dataDir))
	fresh.start()

	conn.waitReady(t, 4) // two tunnels to the old gateway, two to the restored one
	rc := fresh.client(false)
	var r response
	eventually(t, "the restored gateway to serve alice's session from before the backup", func() bool {
		r = getWith(t, rc, "https://grp.localhost/", "Cookie", cookie)
		return r.Status != http.StatusServiceUnavailable // until the connector's sessions attach
	})
	if s := decodeSeen(t, r); s.User != "alice" {
		t.Fatalf("alice's session from before the backup: %+v", s)
	}
	if list := fresh.connectorsCLI(); !strings.Contains(list, conn.id(t)) {
		t.Fatalf("the restored gateway does not list connector %s:\n%s", conn.id(t), list)
	}
	out, errOut, code = runCmd(t, fresh.dir, gatehouseBin, "signins", "--config", fresh.configPath, "--limit", "100000")
	if code != 0 {
		t.Fatalf("signins: exit %d %s", code, errOut)
	}
	for _, want := range []string{"alice", "signed_in", "bob", "denied", "access.groups"} {
		if !strings.Contains(out, want) {
			t.Errorf("the restored sign-in log lacks %q:\n%s", want, out)
		}
	}
}
