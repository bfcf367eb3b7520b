package main

import (
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"
)

// lockCmd is `consul lock`: hold a lock (or, with -n N, one of N semaphore
// slots) under PREFIX while a child process runs; release it when the
// child exits. SIGINT and SIGTERM are passed to the child; if the lock is
// lost (session invalidated), the child is killed.
func (c *cli) lockCmd(args []string) int {
	var h httpFlags
	var limit, monitorRetry int
	var name, try string
	var shell, passStdin, childExitCode, verbose bool
	var timeout time.Duration
	fs := c.newFlags("lock")
	fs.IntVar(&limit, "n", 1, "Optional limit on the number of concurrent lock holders (a semaphore when above 1).")
	fs.StringVar(&name, "name", "", "Optional name to associate with the lock session.")
	fs.BoolVar(&shell, "shell", true, "Use a shell to run the command ($SHELL, default /bin/sh).")
	fs.BoolVar(&passStdin, "pass-stdin", false, "Pass stdin to the child process.")
	fs.BoolVar(&childExitCode, "child-exit-code", false, "Exit 2 if the child process exited with an error.")
	fs.BoolVar(&verbose, "verbose", false, "Enable verbose (debugging) output.")
	fs.StringVar(&try, "try", "", "Attempt the lock only up to this `duration` (\"5s\").")
	fs.IntVar(&monitorRetry, "monitor-retry", 3, "Retries on 500 errors while monitoring the lock.")
	fs.DurationVar(&timeout, "timeout", 0, "Maximum amount of time to wait to acquire the lock.")
	h.client(fs)
	if rc, ok := c.parse(fs, "lock [options] prefix child...", args); !ok {
		return rc
	}
	rest := fs.Args()
	if len(rest) < 2 {
		c.err("Key prefix and child command must be specified")
		return 1
	}
	prefix, child := strings.TrimPrefix(rest[0], "/"), rest[1:]
	if limit <= 0 {
		c.err("Lock holder limit must be positive")
		return 1
	}
	if try != "" {
		d, err := time.ParseDuration(try)
		if err != nil || d <= 0 {
			c.err("Invalid -try value %q: must be a positive duration", try)
			return 1
		}
		timeout = d
	}
	if name == "" {
		name = "Consul lock for '" + strings.Join(child, " ") + "' at '" + prefix + "'"
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}

	sigCh := make(chan os.Signal, 4)
	signal.Notify(sigCh, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigCh)
	// stopCh ends the acquisition: a signal or the -try/-timeout bound.
	stopCh := make(chan struct{})
	acqDone := make(chan struct{})
	go func() {
		var t <-chan time.Time
		if timeout > 0 {
			tm := time.NewTimer(timeout)
			defer tm.Stop()
			t = tm.C
		}
		select {
		case <-sigCh:
		case <-t:
		case <-acqDone:
			return
		}
		close(stopCh)
	}()

	lost, release, err := acquire(client, limit, prefix, name, monitorRetry, stopCh)
	if err != nil {
		close(acqDone)
		c.err("Lock acquisition failed: %s", err)
		return 1
	}
	close(acqDone)
	if lost == nil {
		c.err("Shutdown triggered or timeout during lock acquisition")
		return 1
	}
	if verbose {
		c.out("Lock acquired on %s", prefix)
	}

	var cmd *exec.Cmd
	if shell {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		cmd = exec.Command(sh, "-c", strings.Join(child, " "))
	} else {
		cmd = exec.Command(child[0], child[1:]...)
	}
	cmd.Stdout, cmd.Stderr = c.stdout, c.stderr
	if passStdin {
		cmd.Stdin = c.stdin
	}
	// Its own process group: a terminal's ^C reaches us once, and we pass it on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	childErr := cmd.Start()
	if childErr == nil {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
	wait:
		for {
			select {
			case childErr = <-done:
				break wait
			case sig := <-sigCh:
				_ = cmd.Process.Signal(sig)
			case <-lost:
				c.err("Lock lost, killing child")
				_ = cmd.Process.Kill()
				childErr = <-done
				lost = nil
				break wait
			}
		}
	} else {
		c.err("Error running handler: %s", childErr)
	}
	if err := release(); err != nil {
		c.err("Lock release failed: %s", err)
		return 1
	}
	if childErr != nil {
		if childExitCode {
			return 2
		}
	}
	if lost == nil {
		return 1
	}
	return 0
}

// acquire takes the lock (limit 1: the key PREFIX/.lock, as consul lock)
// or one of limit semaphore slots under prefix, until stopCh closes. lost
// is nil when stopped first; release gives it back and removes what is no
// longer used.
func acquire(client *api.Client, limit int, prefix, name string, monitorRetry int, stopCh <-chan struct{}) (<-chan struct{}, func() error, error) {
	const retry = time.Second
	if limit == 1 {
		l, err := client.LockOpts(&api.LockOptions{Key: prefix + "/.lock", SessionName: name,
			MonitorRetries: monitorRetry, MonitorRetryTime: retry})
		if err != nil {
			return nil, nil, err
		}
		lost, err := l.Lock(stopCh)
		return lost, func() error {
			if err := l.Unlock(); err != nil {
				return err
			}
			_ = l.Destroy() // fails (in use) while others wait on the key
			return nil
		}, err
	}
	s, err := client.SemaphoreOpts(&api.SemaphoreOptions{Prefix: prefix, Limit: limit, SessionName: name,
		MonitorRetries: monitorRetry, MonitorRetryTime: retry})
	if err != nil {
		return nil, nil, err
	}
	lost, err := s.Acquire(stopCh)
	return lost, func() error {
		if err := s.Release(); err != nil {
			return err
		}
		_ = s.Destroy()
		return nil
	}, err
}
