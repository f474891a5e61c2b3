package pluginhost_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// The test binary doubles as the gateway binary and as plug-in binaries:
// started as "BINARY plugin serve NAME" (a built-in) or through a symlink
// named "testplugin-NAME" (a catalog path), it serves test plug-in NAME
// instead of running tests.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "plugin" && os.Args[2] == "serve" {
		os.Exit(serve(os.Args[3]))
	}
	if name, ok := strings.CutPrefix(filepath.Base(os.Args[0]), "testplugin-"); ok {
		os.Exit(serve(name))
	}
	if len(os.Args) == 3 && os.Args[1] == "test-host" {
		os.Exit(hostUntilKilled(os.Args[2]))
	}
	// Race-enabled children otherwise sleep a second at exit, which every
	// Close would wait for.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	os.Exit(m.Run())
}

func serve(name string) int {
	var p sdk.Plugin
	switch name {
	case "echo":
		p.Authenticator = newEcho
	case "echo-signout": // signout_test.go: echo, declaring the signout capability
		p.Authenticator, p.Capabilities = newEcho, []sdk.Capability{sdk.CapabilitySignOut}
	case "inject":
		p.Injector = newInject
	case "raw", "raw-credentials": // capability_test.go
		return serveRaw(name == "raw-credentials")
	default:
		fmt.Fprintf(os.Stderr, "no test plug-in %q\n", name)
		return 2
	}
	if err := sdk.Serve(p); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// echo is an Authenticator with a redirect flow: a request without state is
// sent to an identity provider with state "user:NAME" (NAME from the ?user
// query); the callback with that state signs in NAME. Header X-Test makes
// it misbehave on purpose.
type echo struct {
	idp string
	log *slog.Logger
}

type echoConfig struct {
	IDP     string        `json:"idp"`
	Timeout time.Duration `json:"timeout"`
	Options struct {
		Greeting string `json:"greeting"`
	} `json:"options"`
}

func newEcho(_ context.Context, req sdk.ConfigureRequest) (sdk.Authenticator, error) {
	cfg := echoConfig{IDP: "https://idp.example/authorize"}
	if err := req.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Options.Greeting == "panic" {
		panic("greeting panic")
	}
	return &echo{idp: cfg.IDP, log: req.Log}, nil
}

func (e *echo) Authenticate(ctx context.Context, req sdk.AuthRequest) (sdk.AuthResult, error) {
	switch req.Header.Get("X-Test") {
	case "crash":
		os.Exit(3)
	case "panic":
		panic("authenticate panic")
	case "sleep":
		<-ctx.Done()
		return sdk.AuthResult{}, ctx.Err()
	case "log":
		e.log.Info("hello from plugin", "n", 7)
		fmt.Fprintln(os.Stderr, "plain stderr line")
	}
	if req.State != nil {
		user, ok := strings.CutPrefix(string(req.State), "user:")
		if !ok {
			return sdk.Challenge(http.StatusBadRequest, nil, []byte("bad state")), nil
		}
		return sdk.Authenticated(sdk.Identity{Subject: user, AMR: []string{"test"}}), nil
	}
	user := "nobody"
	if i := strings.Index(req.URL, "?user="); i >= 0 {
		user = req.URL[i+len("?user="):]
	}
	return sdk.Redirect(e.idp, []byte("user:"+user)), nil
}

// inject is an Injector that sets X-User to the subject.
type inject struct{}

func newInject(context.Context, sdk.ConfigureRequest) (sdk.Injector, error) { return inject{}, nil }

func (inject) Inject(_ context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
	return sdk.InjectResult{Remove: []string{"X-User"}, Set: http.Header{"X-User": {req.Identity.Subject}}}, nil
}
