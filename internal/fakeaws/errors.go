package fakeaws

import (
	"errors"
	"fmt"
	"net/http"
)

// apiError is an AWS error as a service returns it. Each protocol writes it
// in its own format.
type apiError struct {
	status    int
	code      string
	msg       string
	queryCode string // awsQueryCompatible services (SQS): the legacy query code
	server    bool   // fault is the server's (5xx-style) rather than the sender's
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func newErr(status int, code, format string, a ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, a...), server: status >= 500}
}

func badRequest(code, format string, a ...any) *apiError {
	return newErr(http.StatusBadRequest, code, format, a...)
}

func notFound(code, format string, a ...any) *apiError {
	return newErr(http.StatusNotFound, code, format, a...)
}

func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return newErr(http.StatusInternalServerError, "InternalFailure", "%v", err)
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
