package pluginhost

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/sdk/wire"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// clientPlugin is the host's half of a plug-in kind in go-plugin's plug-in
// set: it turns the connection go-plugin made into an rpcClient.
type clientPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	service string
}

func (p *clientPlugin) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error {
	return errors.New("plugin: the host side serves nothing")
}

// GRPCClient gets a context that go-plugin cancels when the process exits:
// the supervisor waits on it.
func (p *clientPlugin) GRPCClient(exited context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &rpcClient{conn: conn, service: p.service, exited: exited}, nil
}

var _ goplugin.GRPCPlugin = (*clientPlugin)(nil)

// rpcClient calls one plug-in service.
type rpcClient struct {
	conn    *grpc.ClientConn
	service string
	exited  context.Context
}

func (c *rpcClient) invoke(ctx context.Context, method string, req, resp any) error {
	return c.conn.Invoke(ctx, wire.FullMethod(c.service, method), req, resp,
		// go-plugin lets answers be 2 GiB: a plug-in gets no more room than the host does.
		grpc.ForceCodec(wire.Codec{}), grpc.MaxCallSendMsgSize(wire.MaxMessageSize), grpc.MaxCallRecvMsgSize(wire.MaxMessageSize))
}

// ping asks the plug-in's gRPC server whether it is alive: go-plugin
// serves the standard health service in every plug-in process, next to
// the plug-in's own service, so a plug-in busy with slow calls still
// answers. A server without the health service (a plug-in not built on
// go-plugin) answers Unimplemented, which shows it alive too.
func (c *rpcClient) ping(ctx context.Context) error {
	_, err := grpc_health_v1.NewHealthClient(c.conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: goplugin.GRPCServiceName})
	if status.Code(err) == codes.Unimplemented {
		return nil
	}
	return err
}
