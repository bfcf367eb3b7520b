package httpapi

import (
	"context"

	"github.com/minconsul/minconsul/structs"
)

// Keyring is the gossip keyring behind /v1/operator/keyring: the local
// agent's, which asks every member (serf queries). Optional: without it
// the endpoint is not served.
type Keyring interface {
	Keyring(ctx context.Context, op, key string) ([]*structs.KeyringResponse, error)
}

// keyringArgs is the body of POST/PUT/DELETE /v1/operator/keyring.
type keyringArgs struct {
	Key string
}

// operatorKeyring: GET lists, POST installs, PUT makes primary, DELETE
// removes a key, as Consul's endpoint.
func (s *Server) operatorKeyring(q *request) error {
	op := map[string]string{"GET": "list", "POST": "install", "PUT": "use", "DELETE": "remove"}[q.r.Method]
	var args keyringArgs
	if op != "list" {
		if err := decodeBody(q.r.Body, &args); err != nil {
			return err
		}
		if _, err := structs.DecodeGossipKey(args.Key); err != nil {
			return badRequest(err.Error())
		}
	}
	res, err := s.cfg.Keyring.Keyring(q.r.Context(), op, args.Key)
	if err != nil {
		return err
	}
	if op == "list" {
		return writeJSON(q, res)
	}
	return nil
}
