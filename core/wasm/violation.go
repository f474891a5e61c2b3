package wasm

import (
	"errors"
	"fmt"
)

// errViolation marks a guest that broke the ABI: the call traps.
var errViolation = errors.New("ABI violation")

// violate traps the calling guest: wazero turns the panic into the call's
// error, and the instance is discarded.
func violate(fn, format string, args ...any) {
	panic(fmt.Errorf("%w: %s: %s", errViolation, fn, fmt.Sprintf(format, args...)))
}

// clientError is a host limit the client broke (a request body too large
// to buffer): the call is abandoned and the instance discarded, but the
// client gets a 4xx and the filter is not counted as failing.
type clientError struct {
	status int
	msg    string
}

func (e *clientError) Error() string { return e.msg }

func refuse(status int, format string, args ...any) {
	panic(&clientError{status: status, msg: fmt.Sprintf(format, args...)})
}
