package sdk

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/sdk/wire"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Plugin is what a plug-in binary serves: a constructor for each kind it
// implements (one is usual, both are allowed). The host calls a constructor
// once, when it loads an app that uses the plug-in, with that app's config;
// an error refuses the config and is shown to the operator with the app's
// and the plug-in's name, so say which key is wrong ([FieldErrorf]).
type Plugin struct {
	Authenticator func(ctx context.Context, req ConfigureRequest) (Authenticator, error)
	Injector      func(ctx context.Context, req ConfigureRequest) (Injector, error)
	// Capabilities are the optional parts of the protocol the plug-in
	// uses ([CapabilityCredentials]); most plug-ins use none. The host
	// learns them from the answer to Configure.
	Capabilities []Capability
}

// Serve serves p to the Gatehouse host that started this process, and
// returns when the host is done with it. Call it from main:
//
//	func main() {
//		if err := sdk.Serve(sdk.Plugin{Authenticator: New}); err != nil {
//			log.Fatal(err)
//		}
//	}
//
// Run by hand instead of by a host, the program prints that it is a
// plug-in and exits with status 1.
func Serve(p Plugin) error {
	if p.Authenticator == nil && p.Injector == nil {
		return errors.New("sdk.Serve: the Plugin has neither an Authenticator nor an Injector constructor")
	}
	if err := p.checkCapabilities(); err != nil {
		return err
	}
	// go-plugin replaces os.Stderr with a pipe it forwards as plain lines;
	// structured logs go to the real stderr, which the host parses.
	stderr := os.Stderr
	log := newLogger(stderr)
	set := goplugin.PluginSet{}
	if p.Authenticator != nil {
		set[wire.Authenticator] = &grpcPlugin{desc: authenticatorService(newInstance(p.Authenticator, log, kindCapabilities(p.Capabilities, true)), log)}
	}
	if p.Injector != nil {
		set[wire.Injector] = &grpcPlugin{desc: injectorService(newInstance(p.Injector, log, kindCapabilities(p.Capabilities, false)), log)}
	}
	exitWithHost(os.Getppid(), log)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  wire.Handshake(wire.ProtocolVersion),
		VersionedPlugins: map[int]goplugin.PluginSet{wire.ProtocolVersion: set},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts,
				grpc.ForceServerCodec(wire.Codec{}),
				grpc.MaxRecvMsgSize(wire.MaxMessageSize))...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Output: stderr, JSONFormat: true, Level: hclog.Info}),
	})
	return nil
}

// exitWithHost ends the process once its parent, the host that started
// it, is gone. A host that stops normally stops its plug-ins; one that
// was killed (SIGKILL, the OOM killer) cannot, and its plug-ins would
// otherwise live on with nobody to serve. The orphan is adopted by
// another process, so its parent pid changes.
func exitWithHost(parent int, log *slog.Logger) {
	if parent <= 1 {
		return // already adopted, or no parent to watch
	}
	go func() {
		for range time.Tick(time.Second) {
			if os.Getppid() != parent {
				log.Warn("the Gatehouse host that started this plug-in is gone; exiting", "host_pid", parent)
				os.Exit(0)
			}
		}
	}()
}

// grpcPlugin registers one service on the plug-in's gRPC server. It is the
// server half only; the host has its own client half.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	desc *grpc.ServiceDesc
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(p.desc, nil)
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: the plug-in side has no client")
}

var _ goplugin.GRPCPlugin = (*grpcPlugin)(nil)
