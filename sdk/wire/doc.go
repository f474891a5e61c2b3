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
package wire
