// Package release signs and verifies connector releases: a Manifest
// (version, OS, arch, sha256 and size of the binary, the oldest gateway it
// works with) whose exact JSON bytes are signed with an Ed25519 release key.
//
// The private key stays offline, with whoever builds the connector (the
// `gatehouse release keygen` and `gatehouse release sign` commands); the
// gateway only stores releases and hands them out. A connector trusts the
// public key it was given at enrollment plus a chain of Endorsements (each
// new key signed by the key before it), so a compromised gateway alone cannot
// make a connector run a binary nobody signed.
//
// The connector imports this package, so it must never import core/.
package release
