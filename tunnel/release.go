package tunnel

// ReleaseStreamType is ReleaseRequest.Type: the first frame of a stream a
// connector opens on its session to download a release binary.
const ReleaseStreamType = "release"

// ReleaseRequest opens a stream a connector opens to download the binary
// of a release it was told to update to (see Update). The gateway answers
// one ReleaseResponse frame, then exactly Size raw bytes, then closes the
// stream.
type ReleaseRequest struct {
	Type    string `json:"type"` // ReleaseStreamType
	Version string `json:"version"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// ReleaseResponse answers a ReleaseRequest: Size bytes of binary follow,
// or Error says why there are none (then Size is 0).
type ReleaseResponse struct {
	Size  int64  `json:"size"`
	Error string `json:"error,omitempty"`
}
