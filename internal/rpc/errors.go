package rpc

import (
	"errors"

	"github.com/minconsul/minconsul/structs"
)

// Error kinds on the wire: an error crosses as its kind and its message,
// and comes back as the same sentinel (with the same client-facing
// message), so that httpapi maps it to the same status wherever it arose.
const (
	kindBadRequest = "bad-request"
	kindNotFound   = "not-found"
	kindNoLeader   = "no-leader"
	kindNotLeader  = "not-leader"
	kindTooLarge   = "too-large"
	kindShutdown   = "shutdown"
	kindOther      = "other"
)

// EncodeError turns err into its wire form ("" for nil).
func EncodeError(err error) (kind, msg string) {
	if err == nil {
		return "", ""
	}
	msg = err.Error()
	var se *structs.Error
	if errors.As(err, &se) {
		msg = se.Msg
	}
	switch {
	case errors.Is(err, structs.ErrBadRequest):
		return kindBadRequest, msg
	case errors.Is(err, structs.ErrNotFound):
		return kindNotFound, msg
	case errors.Is(err, structs.ErrNoLeader):
		return kindNoLeader, msg
	case errors.Is(err, structs.ErrNotLeader):
		return kindNotLeader, msg
	case errors.Is(err, structs.ErrTooLarge):
		return kindTooLarge, msg
	case errors.Is(err, structs.ErrShutdown):
		return kindShutdown, msg
	}
	return kindOther, err.Error()
}

// DecodeError is the inverse of EncodeError.
func DecodeError(kind, msg string) error {
	switch kind {
	case "":
		return nil
	case kindBadRequest:
		return structs.BadRequest(msg)
	case kindNotFound:
		return structs.NotFound(msg)
	case kindNoLeader:
		return structs.ErrNoLeader
	case kindNotLeader:
		return structs.ErrNotLeader
	case kindTooLarge:
		return &structs.Error{Kind: structs.ErrTooLarge, Msg: msg}
	case kindShutdown:
		return structs.ErrShutdown
	}
	return errors.New(msg)
}
