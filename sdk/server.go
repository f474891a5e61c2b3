package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/sdk/wire"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// instance holds the one Authenticator or Injector a plug-in process serves:
// the host starts one process per app that uses a plug-in, and configures it
// once.
type instance[T any] struct {
	build func(context.Context, ConfigureRequest) (T, error)
	log   *slog.Logger
	caps  []Capability // declared for this kind, reported by configure
	mu    sync.Mutex   // serialises Configure
	impl  atomic.Pointer[T]
}

func newInstance[T any](build func(context.Context, ConfigureRequest) (T, error), log *slog.Logger, caps []Capability) *instance[T] {
	return &instance[T]{build: build, log: log, caps: caps}
}

func (in *instance[T]) configure(ctx context.Context, req ConfigureRequest) (ConfigureResponse, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.impl.Load() != nil {
		return ConfigureResponse{}, status.Error(codes.FailedPrecondition, "already configured: a plug-in process serves one app")
	}
	req.Log = in.log
	impl, err := guard(in.log, wire.MethodConfigure, func() (T, error) { return in.build(ctx, req) })
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return ConfigureResponse{}, err
		}
		return ConfigureResponse{}, status.Error(codes.InvalidArgument, err.Error())
	}
	if any(impl) == nil && !req.CheckOnly { // a check may build nothing: no call follows it
		return ConfigureResponse{}, status.Error(codes.Internal, "the plug-in's constructor returned nil and no error")
	}
	if err := checkSignOuter(in.caps, any(impl)); err != nil {
		return ConfigureResponse{}, status.Error(codes.Internal, err.Error())
	}
	in.impl.Store(&impl)
	return ConfigureResponse{Capabilities: in.caps}, nil
}

func (in *instance[T]) get() (T, error) {
	if p := in.impl.Load(); p != nil {
		return *p, nil
	}
	var zero T
	return zero, status.Error(codes.FailedPrecondition, "not configured: the host must call Configure first")
}

func authenticatorService(in *instance[Authenticator], log *slog.Logger) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: wire.AuthenticatorService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			unary(wire.AuthenticatorService, wire.MethodConfigure, in.configure),
			unary(wire.AuthenticatorService, wire.MethodAuthenticate, func(ctx context.Context, req AuthRequest) (AuthResult, error) {
				a, err := in.get()
				if err != nil {
					return AuthResult{}, err
				}
				res, err := guard(log, wire.MethodAuthenticate, func() (AuthResult, error) { return a.Authenticate(ctx, req) })
				if err != nil {
					return AuthResult{}, toStatus(err)
				}
				if err := res.Validate(); err != nil {
					return AuthResult{}, status.Errorf(codes.Internal, "Authenticate returned an invalid result: %v", err)
				}
				return res, nil
			}),
			unary(wire.AuthenticatorService, wire.MethodSignOut, signOutMethod(in, log)),
		},
	}
}

// injectorService serves in. Unless its plug-in declared
// CapabilityCredentials, the Injector never sees a Secret (the host sends
// none either), and a result that needs the capability is refused.
func injectorService(in *instance[Injector], log *slog.Logger) *grpc.ServiceDesc {
	credentials := slices.Contains(in.caps, CapabilityCredentials)
	return &grpc.ServiceDesc{
		ServiceName: wire.InjectorService,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			unary(wire.InjectorService, wire.MethodConfigure, in.configure),
			unary(wire.InjectorService, wire.MethodInject, func(ctx context.Context, req InjectRequest) (InjectResult, error) {
				inj, err := in.get()
				if err != nil {
					return InjectResult{}, err
				}
				if !credentials {
					req.Secret = nil
				}
				res, err := guard(log, wire.MethodInject, func() (InjectResult, error) { return inj.Inject(ctx, req) })
				if err != nil {
					return InjectResult{}, toStatus(err)
				}
				if err := errors.Join(res.Validate(), res.checkCapabilities(in.caps)); err != nil {
					return InjectResult{}, status.Errorf(codes.Internal, "Inject returned an invalid result: %v", err)
				}
				return res, nil
			}),
		},
	}
}

// unary is a gRPC method that decodes a Req, calls call and answers its Resp.
// A call whose context has already ended is not started.
func unary[Req, Resp any](service, method string, call func(context.Context, Req) (Resp, error)) grpc.MethodDesc {
	full := wire.FullMethod(service, method)
	return grpc.MethodDesc{
		MethodName: method,
		Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			req := new(Req)
			if err := dec(req); err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "%s: decoding the request: %v", method, err)
			}
			handle := func(ctx context.Context, r any) (any, error) {
				if err := ctx.Err(); err != nil {
					return nil, status.FromContextError(err).Err()
				}
				resp, err := call(ctx, *r.(*Req))
				if err != nil {
					return nil, err
				}
				return &resp, nil
			}
			if icpt == nil {
				return handle(ctx, req)
			}
			return icpt(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: full}, handle)
		},
	}
}

// guard calls f and turns a panic into an error status, logging the stack,
// so one bad request fails alone instead of taking the process and every
// other request in flight down with it.
func guard[T any](log *slog.Logger, method string, f func() (T, error)) (res T, err error) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("plug-in panicked", "method", method, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			var zero T
			res, err = zero, wire.PanicError(method, v)
		}
	}()
	return f()
}

// toStatus turns an error a plug-in returned into a gRPC status.
func toStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return status.Error(status.FromContextError(err).Code(), err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}
