package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// hopHeader carries how many servers a call has already passed through
// (package backend enforces the limit). errHeader marks an answer that is
// an error: its kind, with the message as the body (see EncodeError);
// otherwise the body is the encoded reply.
const (
	hopHeader = "X-Minconsul-Hops"
	errHeader = "X-Minconsul-Error"
)

// DialError marks a failure to connect: the call was never sent, so trying
// another server (or the new leader) is safe even for a write.
type DialError struct{ err error }

func (e *DialError) Error() string { return e.err.Error() }
func (e *DialError) Unwrap() error { return e.err }

// Client calls servers' RPC ports. Connections are pooled per server; a
// blocking query holds its connection until it answers.
type Client struct {
	hc *http.Client
}

// NewClient returns a client with pooled keep-alive connections.
func NewClient() *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			d := 5 * time.Second
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
				d = time.Until(dl)
			}
			conn, err := Dial(addr, ProtoRPC, d)
			if err != nil {
				return nil, &DialError{err}
			}
			return conn, nil
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{hc: &http.Client{Transport: tr}}
}

// Close drops pooled connections.
func (c *Client) Close() { c.hc.Transport.(*http.Transport).CloseIdleConnections() }

// Call runs method on the server at addr with args and decodes its answer
// into reply. An error the server answered with comes back as the value it
// was (see DecodeError); a failure to connect is a *DialError; any other
// failure of the transport says "rpc error". hop is how many servers the
// call has passed through once it arrives. A read is replayable: if the
// pooled connection it was sent on turns out dead, net/http sends it again
// on a new one (as it would a GET); a write never is. ctx bounds the call:
// cancelling it (the HTTP client went away) closes the connection, which
// cancels the call on the server too.
func (c *Client) Call(ctx context.Context, addr, method string, hop int, replayable bool, args, reply any) error {
	b, err := structs.Encode(args)
	if err != nil {
		return fmt.Errorf("encode %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/rpc/"+method, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set(hopHeader, strconv.Itoa(hop))
	if replayable {
		req.Header["X-Idempotency-Key"] = nil // marks it idempotent; not sent
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var de *DialError
		if errors.As(err, &de) {
			return de
		}
		return fmt.Errorf("rpc error: %w", err)
	}
	defer resp.Body.Close()
	body, err := readBody(resp.Body, resp.ContentLength, maxArgs)
	if err != nil {
		return fmt.Errorf("rpc error: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("rpc error: %s to %s: %s: %s", method, addr, resp.Status, bytes.TrimSpace(body))
	}
	if kind := resp.Header.Get(errHeader); kind != "" {
		return DecodeError(kind, string(body))
	}
	if err := structs.Decode(body, reply); err != nil {
		return fmt.Errorf("rpc error: decode %s answer: %w", method, err)
	}
	return nil
}
