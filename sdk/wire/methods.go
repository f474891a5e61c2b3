package wire

// Services and methods. Every kind of plug-in has its own service with a
// Configure method and one method for its job.
const (
	AuthenticatorService = "gatehouse.plugin.v1.Authenticator"
	InjectorService      = "gatehouse.plugin.v1.Injector"

	MethodConfigure    = "Configure"
	MethodAuthenticate = "Authenticate"
	MethodInject       = "Inject"
	// MethodSignOut is the Authenticator's optional sign-out at the
	// identity provider (capability "signout").
	MethodSignOut = "SignOut"
)

// MaxMessageSize caps one request or response on the wire. Requests carry
// at most an HTTP header block (the gateway caps those at 64 KiB) and a
// small form body, so anything near this size is an attack or a bug; it is
// refused with codes.ResourceExhausted before a plug-in sees it.
const MaxMessageSize = 4 << 20

// Service is the gRPC service name of a plug-in kind ("" if unknown).
func Service(kind string) string {
	switch kind {
	case Authenticator:
		return AuthenticatorService
	case Injector:
		return InjectorService
	}
	return ""
}

// FullMethod is the gRPC method path of method on service.
func FullMethod(service, method string) string {
	return "/" + service + "/" + method
}
