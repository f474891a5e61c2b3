package connector_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The connector is the on-premises binary: it must build without the
// gateway's tree. Nothing it links may come from core/.
func TestConnectorImportsNoCore(t *testing.T) {
	const module = "github.com/gatehouse/gatehouse/"
	out, err := exec.Command("go", "list", "-deps", "./...", "../cmd/gatehouse-connector").Output()
	if err != nil {
		t.Fatalf("go list -deps of the connector failed, so its imports cannot be checked: %v", err)
	}
	pkgs := strings.Fields(string(out))
	ours := 0
	for _, p := range pkgs {
		if !strings.HasPrefix(p, module) {
			continue
		}
		ours++
		if p == module+"core" || strings.HasPrefix(p, module+"core/") {
			t.Errorf("the connector depends on %s; move what it needs out of core/ (pluginhost/, tunnel/, internal/)", p)
		}
	}
	if ours < 5 || !strings.Contains(string(out), module+"pluginhost\n") {
		t.Fatalf("go list named %d of Gatehouse's packages and not pluginhost; the check saw nothing:\n%s", ours, out)
	}
}
