package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"
)

// watchFunc runs one (blocking) read of a watched view after index and
// answers the view's index and value.
type watchFunc func(ctx context.Context, index uint64) (uint64, any, error)

// watchCmd is `consul watch`: follow a view with blocking queries and,
// on each change, print it (then exit, without a handler) or run the
// handler with the view's JSON on stdin and CONSUL_INDEX in its
// environment.
func (c *cli) watchCmd(args []string) int {
	var h httpFlags
	var typ, key, prefix, service, tag, passingOnly, state, name string
	var shell bool
	fs := c.newFlags("watch")
	fs.StringVar(&typ, "type", "", "Specifies the watch type. One of key, keyprefix, services, nodes, service, checks, or event.")
	fs.StringVar(&key, "key", "", "Specifies the key to watch. Only for 'key' type.")
	fs.StringVar(&prefix, "prefix", "", "Specifies the key prefix to watch. Only for 'keyprefix' type.")
	fs.StringVar(&service, "service", "", "Specifies the service to watch. Required for 'service' type, optional for 'checks' type.")
	fs.StringVar(&tag, "tag", "", "Specifies the service tag to filter on. Optional for 'service' type.")
	fs.StringVar(&passingOnly, "passingonly", "", "Specifies if only hosts passing all checks are displayed. Optional for 'service' type, `[true|false]`.")
	fs.StringVar(&state, "state", "", "Specifies the states to watch. Optional for 'checks' type.")
	fs.StringVar(&name, "name", "", "Specifies an event name to watch. Only for 'event' type.")
	fs.BoolVar(&shell, "shell", true, "Use a shell to run the command (SHELL names it, default /bin/sh).")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "watch [options] [child...]", args); !ok {
		return rc
	}
	if typ == "" {
		c.err("Watch type must be specified")
		return 1
	}
	passing := false
	if passingOnly != "" {
		b, err := strconv.ParseBool(passingOnly)
		if err != nil {
			c.err("Failed to parse passingonly flag: %s", err)
			return 1
		}
		passing = b
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	fn, err := watchView(client, h.stale, watchParams{typ: typ, key: key, prefix: prefix, service: service, tag: tag,
		passing: passing, state: state, name: name})
	if err != nil {
		c.err("%s", err)
		return 1
	}
	if _, err := client.Agent().NodeName(); err != nil {
		c.err("Error querying Consul agent: %s", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	handler := fs.Args()
	var last any
	var index uint64
	first := true
	failures := 0
	for ctx.Err() == nil {
		idx, val, err := fn(ctx, index)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			// Back off as Consul's watch plans do, but start small.
			failures++
			wait := min(time.Duration(failures*failures)*time.Second, 3*time.Minute)
			c.err("Watch (type: %s) errored: %s, retry in %s", typ, err, wait)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			continue
		}
		failures = 0
		if !first && idx == index {
			continue
		}
		if idx < index && typ != "event" {
			// The index went back (a snapshot restore): start over.
			idx = 0
		}
		index = idx
		if !first && reflect.DeepEqual(last, val) {
			continue
		}
		first, last = false, val
		if len(handler) == 0 {
			buf, err := json.MarshalIndent(val, "", "    ")
			if err != nil {
				c.err("Error encoding output: %s", err)
				return 1
			}
			c.out("%s", buf)
			return 0
		}
		if err := c.runWatchHandler(ctx, handler, shell, idx, val); err != nil {
			c.err("Error executing handler: %s", err)
			return 1
		}
	}
	return 0
}

// runWatchHandler runs the handler once with the view's JSON on stdin.
func (c *cli) runWatchHandler(ctx context.Context, args []string, shell bool, index uint64, val any) error {
	var in bytes.Buffer
	if err := json.NewEncoder(&in).Encode(val); err != nil {
		return err
	}
	var cmd *exec.Cmd
	if shell {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		cmd = exec.Command(sh, "-c", strings.Join(args, " "))
	} else {
		cmd = exec.Command(args[0], args[1:]...)
	}
	cmd.Env = append(os.Environ(), "CONSUL_INDEX="+strconv.FormatUint(index, 10))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &in, c.stdout, c.stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	// A signal to the watch reaches the handler too, then the watch ends
	// after it.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
		case <-done:
		}
	}()
	return cmd.Wait()
}

type watchParams struct {
	typ, key, prefix, service, tag, state, name string
	passing                                     bool
}

// watchView validates the parameters of a watch type, with Consul's
// messages, and answers the read that follows it.
func watchView(client *api.Client, stale bool, p watchParams) (watchFunc, error) {
	opts := func(ctx context.Context, index uint64) *api.QueryOptions {
		return (&api.QueryOptions{AllowStale: stale, WaitIndex: index}).WithContext(ctx)
	}
	unexpected := func(allowed ...string) error {
		for _, f := range []struct{ name, val string }{{"key", p.key}, {"prefix", p.prefix}, {"service", p.service},
			{"tag", p.tag}, {"state", p.state}, {"name", p.name}} {
			ok := false
			for _, a := range allowed {
				ok = ok || a == f.name
			}
			if f.val != "" && !ok {
				return fmt.Errorf("Invalid parameters: [%s]", f.name)
			}
		}
		return nil
	}
	switch p.typ {
	case "key":
		if err := unexpected("key"); err != nil {
			return nil, err
		}
		if p.key == "" {
			return nil, errors.New("Must specify a single key to watch")
		}
		return func(ctx context.Context, index uint64) (uint64, any, error) {
			pair, meta, err := client.KV().Get(p.key, opts(ctx, index))
			if err != nil {
				return 0, nil, err
			}
			if pair == nil {
				return meta.LastIndex, nil, nil
			}
			return meta.LastIndex, pair, nil
		}, nil
	case "keyprefix":
		if err := unexpected("prefix"); err != nil {
			return nil, err
		}
		if p.prefix == "" {
			return nil, errors.New("Must specify a single prefix to watch")
		}
		return func(ctx context.Context, index uint64) (uint64, any, error) {
			pairs, meta, err := client.KV().List(p.prefix, opts(ctx, index))
			if err != nil {
				return 0, nil, err
			}
			return meta.LastIndex, pairs, nil
		}, nil
	case "services":
		if err := unexpected(); err != nil {
			return nil, err
		}
		return func(ctx context.Context, index uint64) (uint64, any, error) {
			svcs, meta, err := client.Catalog().Services(opts(ctx, index))
			if err != nil {
				return 0, nil, err
			}
			return meta.LastIndex, svcs, nil
		}, nil
	case "nodes":
		if err := unexpected(); err != nil {
			return nil, err
		}
		return func(ctx context.Context, index uint64) (uint64, any, error) {
			nodes, meta, err := client.Catalog().Nodes(opts(ctx, index))
			if err != nil {
				return 0, nil, err
			}
			return meta.LastIndex, nodes, nil
		}, nil
	case "service":
		if err := unexpected("service", "tag"); err != nil {
			return nil, err
		}
		if p.service == "" {
			return nil, errors.New("Must specify a single service to watch")
		}
		var tags []string
		if p.tag != "" {
			tags = []string{p.tag}
		}
		return func(ctx context.Context, index uint64) (uint64, any, error) {
			entries, meta, err := client.Health().ServiceMultipleTags(p.service, tags, p.passing, opts(ctx, index))
			if err != nil {
				return 0, nil, err
			}
			return meta.LastIndex, entries, nil
		}, nil
	case "checks":
		if err := unexpected("service", "state"); err != nil {
			return nil, err
		}
		if p.service != "" && p.state != "" {
			return nil, errors.New("Cannot specify service and state")
		}
		return func(ctx context.Context, index uint64) (uint64, any, error) {
			var checks api.HealthChecks
			var meta *api.QueryMeta
			var err error
			if p.service != "" {
				checks, meta, err = client.Health().Checks(p.service, opts(ctx, index))
			} else {
				state := p.state
				if state == "" {
					state = api.HealthAny
				}
				checks, meta, err = client.Health().State(state, opts(ctx, index))
			}
			if err != nil {
				return 0, nil, err
			}
			return meta.LastIndex, checks, nil
		}, nil
	case "event":
		if err := unexpected("name"); err != nil {
			return nil, err
		}
		// Each change hands over only the events after the last one seen
		// (as Consul's event watch); the index names that last event.
		return func(ctx context.Context, index uint64) (uint64, any, error) {
			events, meta, err := client.Event().List(p.name, opts(ctx, index))
			if err != nil {
				return 0, nil, err
			}
			for i := range events {
				if client.Event().IDToIndex(events[i].ID) == index {
					events = events[i+1:]
					break
				}
			}
			return meta.LastIndex, events, nil
		}, nil
	}
	return nil, fmt.Errorf("Unsupported watch type: %s", p.typ)
}
