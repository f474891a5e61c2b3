// Command badversion is a plug-in built for protocol version 2, which no
// host speaks yet: it must be refused with a clear message.
package main

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/sdk/wire"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

type future struct {
	goplugin.NetRPCUnsupportedPlugin
}

func (future) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return nil }

func (future) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("server only")
}

func main() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  wire.Handshake(2),
		VersionedPlugins: map[int]goplugin.PluginSet{2: {wire.Injector: future{}}},
		GRPCServer:       goplugin.DefaultGRPCServer,
	})
}
