package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// infoCmd is `consul info`: the agent's Stats sections, sorted, one
// "key = value" per line under each section.
func (c *cli) infoCmd(args []string) int {
	var h httpFlags
	fs := c.newFlags("info")
	h.client(fs)
	if rc, ok := c.parse(fs, "info [options]", args); !ok {
		return rc
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	self, err := client.Agent().Self()
	if err != nil {
		c.err("Error querying agent: %s", err)
		return 1
	}
	stats, ok := self["Stats"]
	if !ok {
		c.err("Agent response did not contain 'Stats' key: %v", self)
		return 1
	}
	sections := make([]string, 0, len(stats))
	for k := range stats {
		sections = append(sections, k)
	}
	sort.Strings(sections)
	for _, sec := range sections {
		c.out("%s:", sec)
		vals, _ := stats[sec].(map[string]any)
		keys := make([]string, 0, len(vals))
		for k := range vals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.out("\t%s = %v", k, vals[k])
		}
	}
	return 0
}

// monitorCmd is `consul monitor`: stream the agent's logs at a level, as
// text or JSON lines, until interrupted.
func (c *cli) monitorCmd(args []string) int {
	var h httpFlags
	var level string
	var logJSON bool
	fs := c.newFlags("monitor")
	fs.StringVar(&level, "log-level", "INFO", "Log level of the agent.")
	fs.BoolVar(&logJSON, "log-json", false, "Output logs in JSON format.")
	h.client(fs)
	if rc, ok := c.parse(fs, "monitor [options]", args); !ok {
		return rc
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopCh := make(chan struct{})
	defer close(stopCh)
	monitor := client.Agent().Monitor
	if logJSON {
		monitor = client.Agent().MonitorJSON
	}
	logCh, err := monitor(level, stopCh, nil)
	if err != nil {
		c.err("Error starting monitor: %s", err)
		return 1
	}
	for {
		select {
		case <-ctx.Done():
			return 0
		case line, ok := <-logCh:
			if !ok {
				c.err("Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.")
				return 1
			}
			fmt.Fprint(c.stdout, line)
			if len(line) > 0 && line[len(line)-1] != '\n' {
				fmt.Fprintln(c.stdout)
			}
		}
	}
}
