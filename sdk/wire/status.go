package wire

import (
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// How errors cross the process boundary. A plug-in answers with a gRPC
// status; the host turns it back into an error it can test with errors.Is.
//
//	codes.InvalidArgument     Configure refused the config (message names the field)
//	codes.FailedPrecondition  a call before Configure succeeded, or a second Configure
//	codes.Internal + PanicPrefix  the plug-in's code panicked (and recovered)
//	codes.Internal            the plug-in returned a result that is not valid
//	codes.Unknown             any other error the plug-in returned
//	codes.DeadlineExceeded, codes.Canceled  the call's context ended
const PanicPrefix = "plug-in panicked: "

// PanicError is the status for a recovered panic with value v in method.
func PanicError(method string, v any) error {
	return status.Errorf(codes.Internal, "%s%s: %v", PanicPrefix, method, v)
}

// IsPanic reports whether st is the status of a recovered panic.
func IsPanic(st *status.Status) bool {
	return st.Code() == codes.Internal && strings.HasPrefix(st.Message(), PanicPrefix)
}
