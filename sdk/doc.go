// Package sdk is what a Gatehouse plug-in is written with.
//
// A plug-in is a separate program that the gateway or the connector starts
// and talks to over gRPC. Its author implements one of two small interfaces
// and calls [Serve]; the handshake, mutual TLS, gRPC and the encoding stay
// out of sight:
//
//   - an [Authenticator] runs at the gateway and answers "who is this
//     caller?" for an app's requests that have no session yet;
//   - an [Injector] runs at the connector and turns an established
//     [Identity] into what the app's backend accepts (headers, a ticket,
//     credentials).
//
// Each app that uses a plug-in gets its own instance, built by the
// plug-in's constructor from the app's config block when the config is
// loaded ([ConfigureRequest.Decode] decodes it strictly, so an unknown key
// is an error that names it). Every call carries a context with a deadline
// and a request struct, and returns a response struct, so the protocol can
// grow without breaking plug-ins. Plug-ins are stateless: state a sign-in
// flow needs between the redirect and the callback travels in
// [AuthResult.State], which the gateway seals into a cookie and hands back
// in [AuthRequest.State]. A few parts of the protocol serve one kind of
// plug-in only (the password vault's credentials); a plug-in that uses one
// declares it, a [Capability], in [Plugin.Capabilities].
//
// The package imports nothing from the gateway or the connector and its API
// uses only the standard library's types. README.md beside this file is the
// step-by-step guide.
package sdk
