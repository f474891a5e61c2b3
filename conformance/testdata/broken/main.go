// Command broken is an Injector that misbehaves on purpose, in the way its
// config's "mode" names, so the conformance kit's own tests can see each
// check fail for the right reason. Mode "ok" behaves.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

type config struct {
	Mode string `json:"mode"`
}

type injector struct{ mode string }

func newInjector(_ context.Context, req sdk.ConfigureRequest) (sdk.Injector, error) {
	var cfg config
	if err := json.Unmarshal(req.Config, &cfg); err != nil && len(req.Config) > 0 {
		return nil, err
	}
	if cfg.Mode != "lenient" {
		if err := req.Decode(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.Mode == "panic-configure" {
		panic("nil map in Configure")
	}
	return injector{cfg.Mode}, nil
}

func (in injector) Inject(ctx context.Context, req sdk.InjectRequest) (sdk.InjectResult, error) {
	switch in.mode {
	case "ignore-deadline":
		time.Sleep(2 * time.Second)
	case "panic-garbage":
		for _, values := range req.Header {
			for _, v := range values {
				if len(v) > 64<<10 {
					panic("header value too long for my buffer")
				}
			}
		}
	case "crash-garbage":
		if strings.ContainsRune(req.Identity.Subject, '\uFFFD') {
			os.Exit(2)
		}
	}
	if in.mode != "header-injection" && strings.ContainsAny(req.Identity.Subject, "\r\n\x00") {
		return sdk.InjectResult{}, errors.New("subject has a line break")
	}
	return sdk.InjectResult{Remove: []string{"X-User"}, Set: http.Header{"X-User": {req.Identity.Subject}}}, nil
}

func main() {
	if err := sdk.Serve(sdk.Plugin{Injector: newInjector}); err != nil {
		log.Fatal(err)
	}
}
