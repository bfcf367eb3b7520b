package registrar

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/minconsul/minconsul/structs"
)

// defaultCheckInterval is registrator's (consul.DefaultInterval).
const defaultCheckInterval = "10s"

// buildCheck reads registrator's SERVICE_[<port>_]CHECK_* keys. The first
// kind set wins, in registrator's order: HTTP, HTTPS, CMD, SCRIPT, TTL, TCP,
// GRPC. Invalid durations or statuses are warned about and left out, so the
// check keeps Consul's defaults instead of failing the whole registration.
func buildCheck(attrs map[string]metaValue, ip string, port int, warn func(string)) *structs.CheckDefinition {
	get := func(k string) (metaValue, bool) {
		v, ok := attrs[k]
		return v, ok && v.value != ""
	}
	if ip == "" {
		ip = "127.0.0.1"
	}
	hostPort := net.JoinHostPort(ip, strconv.Itoa(port))
	chk := &structs.CheckDefinition{}
	needsInterval := true
	withTimeout := true
	if v, ok := get("check_http"); ok {
		chk.HTTP = "http://" + hostPort + v.value
		if m, ok := get("check_http_method"); ok {
			chk.Method = m.value
		}
	} else if v, ok := get("check_https"); ok {
		chk.HTTP = "https://" + hostPort + v.value
		if m, ok := get("check_https_method"); ok {
			chk.Method = m.value
		}
		if s, ok := get("check_tls_skip_verify"); ok && truthy(s.value) {
			chk.TLSSkipVerify = true
		}
	} else if v, ok := get("check_cmd"); ok {
		warn(fmt.Sprintf("%s: check-cmd runs registrator's own binary inside the container; not supported, no check registered (use a Docker HEALTHCHECK, which is mirrored)", v.source))
		return nil
	} else if v, ok := get("check_script"); ok {
		// registrator passes the line as one argument, which no exec can
		// run; a shell runs it as written.
		script := strings.ReplaceAll(v.value, "$SERVICE_IP", ip)
		script = strings.ReplaceAll(script, "$SERVICE_PORT", strconv.Itoa(port))
		chk.Args = []string{"/bin/sh", "-c", script}
		withTimeout = false
	} else if v, ok := get("check_ttl"); ok {
		if _, err := time.ParseDuration(v.value); err != nil {
			warn(fmt.Sprintf("%s=%q is not a duration; no check registered", v.source, v.value))
			return nil
		}
		chk.TTL = v.value
		needsInterval, withTimeout = false, false
	} else if _, ok := get("check_tcp"); ok {
		chk.TCP = hostPort
	} else if _, ok := get("check_grpc"); ok {
		// The standard gRPC health service of the whole server.
		chk.GRPC = hostPort
		if s, ok := get("check_grpc_use_tls"); ok && truthy(s.value) {
			chk.GRPCUseTLS = true
			if s, ok := get("check_tls_skip_verify"); ok && truthy(s.value) {
				chk.TLSSkipVerify = true
			}
		}
	} else {
		return nil
	}
	dur := func(key string) string {
		v, ok := get(key)
		if !ok {
			return ""
		}
		if d, err := time.ParseDuration(v.value); err != nil || d <= 0 {
			warn(fmt.Sprintf("%s=%q is not a positive duration; ignored", v.source, v.value))
			return ""
		}
		return v.value
	}
	if needsInterval {
		chk.Interval = dur("check_interval")
		if chk.Interval == "" {
			chk.Interval = defaultCheckInterval
		}
	}
	if withTimeout {
		chk.Timeout = dur("check_timeout")
	}
	if v, ok := get("check_initial_status"); ok {
		if validStatus(v.value) {
			chk.Status = v.value
		} else {
			warn(fmt.Sprintf("%s=%q is not passing, warning or critical; ignored", v.source, v.value))
		}
	}
	chk.DeregisterCriticalServiceAfter = dur("check_deregister_after")
	return chk
}
