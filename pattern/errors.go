package pattern

import "fmt"

// Error reports an invalid pattern. Msg is the reason EventBridge gives (the
// text after "Event pattern is not valid. Reason: " in its
// InvalidEventPatternException), so callers can show users the message they
// would get from AWS.
type Error struct {
	// Msg is EventBridge's reason, for example
	// `"severity" must be an object or an array`.
	Msg string
	// Offset is the byte offset in the pattern where the problem was found,
	// or -1 when the problem is not tied to one place.
	Offset int
}

// errPrefix is how EventBridge introduces the reason of an
// InvalidEventPatternException.
const errPrefix = "Event pattern is not valid. Reason: "

// Error returns EventBridge's full message.
func (e *Error) Error() string { return errPrefix + e.Msg }

func errAt(off int, format string, args ...any) *Error {
	if len(args) == 0 {
		return &Error{Msg: format, Offset: off}
	}
	return &Error{Msg: fmt.Sprintf(format, args...), Offset: off}
}

func errMsg(off int, msg string) *Error { return &Error{Msg: msg, Offset: off} }
