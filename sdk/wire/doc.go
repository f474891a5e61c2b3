// Package wire is the Gatehouse plug-in protocol: the go-plugin handshake,
// the gRPC service and method names, the codec, and the conventions for
// errors that cross the process boundary.
//
// It is shared by the two ends of the protocol and by nothing else:
// [github.com/gatehouse/gatehouse/sdk] serves it inside a plug-in process and
// pluginhost speaks it from the host. Plug-in authors never import it; the
// sdk package hides it behind [sdk.Serve].
//
// There is no .proto file and no protoc step. The services are hand-written
// grpc.ServiceDesc values whose messages are the sdk's request and response
// structs, carried as JSON by [Codec]. go-plugin's own services (health,
// stdio, controller, broker) stay protobuf: the codec hands protobuf messages
// to gRPC's protobuf codec.
//
// # Optional capabilities
//
// Parts of the protocol that only some plug-ins use are capabilities
// ([github.com/gatehouse/gatehouse/sdk.Capability]). A plug-in lists those
// it uses in its answer to Configure ({"capabilities": ["credentials"]});
// one that lists none, as every plug-in built before capabilities existed,
// speaks the plain protocol. The host sends what a capability carries only
// to a plug-in that listed it, and refuses a result that uses a capability
// the plug-in did not list. There are two: "credentials", for Injectors: the
// request's "secret" (the user's sealed credentials) and the result's
// "ask_credentials" and "reject_status"; and "signout", for Authenticators:
// the method [MethodSignOut], which the host calls only on a plug-in that
// listed it (others answer Unimplemented). The fields kept their names and
// places, so a new capability does not change [ProtocolVersion].
package wire
