// Package pluginhost runs Gatehouse plug-ins: separate processes that speak the
// protocol of sdk/wire over go-plugin's gRPC transport with automatic mutual
// TLS.
//
// A catalog [Entry] says where a plug-in comes from: built into the gateway
// binary (started as "gatehouse plugin serve NAME") or a binary whose
// SHA-256 is pinned, checked before every start. A [Use] is one app's use of
// it, with the app's opaque config block. [Host.Authenticator] and
// [Host.Injector] return an instance for a use: Open starts one process,
// has the plug-in validate the config (errors name app, plug-in and key),
// and supervises it; Close stops it and is safe after a failed Open.
//
// While a plug-in process is down (it crashed, or is being restarted with
// backoff) calls fail at once with an error that wraps [ErrUnavailable], so
// the caller answers 503 and no request passes unauthenticated; the
// instance recovers by itself. A process that stops answering without
// exiting (frozen) is found by a health check, made when a call waits
// longer than Host.ProbeAfter or times out, and is killed and restarted
// the same way. To reload, open the new instances, swap them in, then
// close the old ones.
//
// Every call gets a deadline: the caller's, or Host.CallTimeout. The
// plug-in's log lines are re-emitted through Host.Logger, tagged
// plugin=NAME and app=APP.
package pluginhost
