package wire

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/minconsul/minconsul/agent"
)

// unixPrefix marks an HTTP address that is a unix socket path.
const unixPrefix = "unix://"

// listenHTTP binds the HTTP API: host:port, or unix:///path (a stale
// socket file from an earlier run is replaced; any other file there is an
// error), with unix_sockets' mode, user and group applied to the file.
func listenHTTP(addr string, sock agent.UnixSocketConfig) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, unixPrefix)
	if !ok {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("http listen %s: %w", addr, err)
		}
		return ln, nil
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("http listen %s: the path exists and is not a socket", addr)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("http listen %s: remove the old socket: %w", addr, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("http listen %s: %w", addr, err)
	}
	if err := setSocketPermissions(path, sock); err != nil {
		ln.Close()
		return nil, fmt.Errorf("http socket %s: %w", path, err)
	}
	return ln, nil
}

// setSocketPermissions applies unix_sockets to the socket file.
func setSocketPermissions(path string, sock agent.UnixSocketConfig) error {
	uid, err := lookupID("user", sock.User, func(n string) (string, error) {
		u, err := user.Lookup(n)
		if err != nil {
			return "", err
		}
		return u.Uid, nil
	})
	if err != nil {
		return err
	}
	gid, err := lookupID("group", sock.Group, func(n string) (string, error) {
		g, err := user.LookupGroup(n)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	})
	if err != nil {
		return err
	}
	if uid != -1 || gid != -1 {
		if err := os.Chown(path, uid, gid); err != nil {
			return fmt.Errorf("failed setting ownership to %d:%d: %w", uid, gid, err)
		}
	}
	if sock.Mode != "" {
		mode, err := strconv.ParseUint(sock.Mode, 8, 32)
		if err != nil {
			return fmt.Errorf("invalid mode specified: %v", sock.Mode)
		}
		if err := os.Chmod(path, os.FileMode(mode)); err != nil {
			return fmt.Errorf("failed setting permissions to %s: %w", sock.Mode, err)
		}
	}
	return nil
}

// lookupID takes a numeric ID as it is or resolves a name; "" is -1
// (leave it).
func lookupID(kind, s string, byName func(string) (string, error)) (int, error) {
	if s == "" {
		return -1, nil
	}
	if id, err := strconv.Atoi(s); err == nil {
		return id, nil
	}
	idStr, err := byName(s)
	if err == nil {
		var id int
		if id, err = strconv.Atoi(idStr); err == nil {
			return id, nil
		}
	}
	return 0, fmt.Errorf("invalid %s specified: %v", kind, s)
}
