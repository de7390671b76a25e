// Package errtext words errors for one-line messages, so that the client,
// the server and the mesh name a cause the same way.
package errtext

import "errors"

// RootCause is the innermost error text: "connection refused" rather than
// Go's "dial tcp 127.0.0.1:7890: connect: connection refused".
func RootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}
