package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// hopHeader counts how many times a request was forwarded; a server
// forwards only while it is below maxHops, so a leader change can cost one
// extra hop but never a loop.
const (
	hopHeader = "X-Minconsul-Hops"
	maxHops   = 2
)

func hops(r *http.Request) int {
	n, _ := strconv.Atoi(r.Header.Get(hopHeader))
	return n
}

// dialError marks a failure to connect: the request was never sent, so
// trying another server (or the new leader) is safe even for writes.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// Client talks to servers' RPC ports. Connections are pooled per server.
type Client struct {
	hc *http.Client
	// LeaderWait bounds how long forwarding waits for a leader to appear
	// (or for a dead leader to be replaced) before ErrNoLeader.
	LeaderWait time.Duration
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
				return nil, &dialError{err}
			}
			return conn, nil
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{hc: &http.Client{Transport: tr}, LeaderWait: 7 * time.Second}
}

// Close drops pooled connections.
func (c *Client) Close() { c.hc.Transport.(*http.Transport).CloseIdleConnections() }

func (c *Client) post(ctx context.Context, addr, path string, in, out any, hop int) error {
	if addr == "" {
		return structs.ErrNoLeader
	}
	b, err := structs.Encode(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set(hopHeader, strconv.Itoa(hop))
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("rpc %s to %s: %s: %s", path, addr, resp.Status, bytes.TrimSpace(body))
	}
	return structs.Decode(body, out)
}

// retryable reports whether a failed call never reached a server.
func retryable(err error) bool {
	var de *dialError
	return errors.As(err, &de) || errors.Is(err, structs.ErrNoLeader)
}

// ApplyLeader sends a command to the current leader, waiting (bounded by
// LeaderWait) for one to exist and retrying when the leader cannot be
// reached, which is safe because such a request was never delivered.
func (c *Client) ApplyLeader(ctx context.Context, leader func() string, cmd structs.Command, hop int) (uint64, any, error) {
	deadline := time.Now().Add(c.LeaderWait)
	for {
		idx, res, err := c.Apply(ctx, leader(), cmd, hop)
		if err == nil || !retryable(err) || time.Now().After(deadline) || ctx.Err() != nil {
			if err != nil && retryable(err) {
				err = structs.ErrNoLeader
			}
			return idx, res, err
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(50 * time.Millisecond): // back off while a new leader is elected
		}
	}
}

// Apply sends a command to one server (which forwards it to its leader).
// A KVBatch command's result is a []structs.BatchOutcome.
func (c *Client) Apply(ctx context.Context, addr string, cmd structs.Command, hop int) (uint64, any, error) {
	var out applyResponse
	if err := c.post(ctx, addr, "/rpc/apply", cmd, &out, hop); err != nil {
		return 0, nil, err
	}
	idx, res, err := out.outcome()
	if err != nil || cmd.Type != structs.KVBatch {
		return idx, res, err
	}
	if len(out.Results) != len(cmd.Batch) {
		return idx, nil, fmt.Errorf("rpc apply: %d results for a batch of %d", len(out.Results), len(cmd.Batch))
	}
	outs := make([]structs.BatchOutcome, len(out.Results))
	for i, e := range out.Results {
		o := &outs[i]
		o.Index, o.Value, o.Err = e.outcome()
	}
	return idx, outs, nil
}

// Read runs a typed read on a server and decodes its result into out.
func (c *Client) Read(ctx context.Context, addr string, req ReadRequest, out any) (structs.QueryMeta, error) {
	var resp readResponse
	if err := c.post(ctx, addr, "/rpc/read", req, &resp, 1); err != nil {
		return structs.QueryMeta{}, err
	}
	if err := decodeErr(resp.ErrKind, resp.ErrMsg); err != nil {
		return resp.Meta, err
	}
	if out != nil && len(resp.Payload) > 0 {
		if err := structs.Decode(resp.Payload, out); err != nil {
			return resp.Meta, fmt.Errorf("decode %s result: %w", req.Method, err)
		}
	}
	return resp.Meta, nil
}
