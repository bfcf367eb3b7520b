// Package config turns Consul-style agent flags and configuration files
// (JSON and HCL) into an *agent.Config. It owns defaults, precedence
// (defaults < files in order < flags), type checking with errors that name
// the file and key, validation, and warnings for the many Consul settings
// minconsul accepts but does not implement. It never starts anything and
// keeps no package-level state.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/minconsul/minconsul/agent"
)

// LoadResult is what the caller needs besides the agent's configuration.
type LoadResult struct {
	// Warnings to log once the logger exists (ignored keys and flags,
	// deprecated settings, risky bootstrap settings, DNS-invalid names).
	Warnings []string
	// LogLevel is normalised to upper case (TRACE, DEBUG, INFO, WARN, ERROR).
	LogLevel string
	LogJSON  bool
	// RetryInterval and RetryMax are -retry-interval/-retry-max (Consul's
	// retry_interval/retry_max); agent.Config has no field for them yet.
	RetryInterval time.Duration
	RetryMax      int
	// Files are the config files read, in precedence order.
	Files []string
	// Docker configures the registrar, which cmd wires next to the agent.
	Docker Docker
}

// ErrHelp is returned when the arguments asked for help (-h, -help).
var ErrHelp = flag.ErrHelp

// Loader loads the configuration. The zero value is ready to use; the
// fields are hooks for tests and for the binary.
type Loader struct {
	// Hostname defaults to os.Hostname (the default node name).
	Hostname func() (string, error)
	// PrivateIPv4 and PublicIPv6 detect the advertise address when the bind
	// address is 0.0.0.0 or ::. Defaults read the host's interfaces.
	PrivateIPv4 func() ([]string, error)
	PublicIPv6  func() ([]string, error)
	// Version is copied into agent.Config.Version.
	Version string
	// OnReload, when set, receives the result of every load made through
	// agent.Config.Reload (for logging its warnings).
	OnReload func(*LoadResult)
}

// Load parses the agent's arguments (without the "agent" word), reads the
// config files they name and builds the configuration. The returned
// config's Reload re-runs the same load (same arguments, files re-read).
func (l *Loader) Load(args []string) (*agent.Config, *LoadResult, error) {
	args = append([]string(nil), args...)
	cfg, res, err := l.load(args)
	if err != nil {
		return nil, nil, err
	}
	cfg.Reload = func() (*agent.Config, error) {
		c, r, err := l.Load(args)
		if err == nil && l.OnReload != nil {
			l.OnReload(r)
		}
		return c, err
	}
	return cfg, res, nil
}

func (l *Loader) load(args []string) (*agent.Config, *LoadResult, error) {
	fv, err := parseFlags(args)
	if err != nil {
		return nil, nil, err
	}
	dev := fv.dev != nil && *fv.dev
	res := &LoadResult{}
	warn := func(s string) { res.Warnings = append(res.Warnings, s) }

	hostname, herr := l.hostname()
	merged := defaultSource(dev, hostname)

	// As Consul: list values given as flags come before those from files,
	// scalar flags override files.
	flagSlices, flagValues := splitSlices(&fv.cfg)
	merge(merged, flagSlices)

	seen := map[string]bool{}
	addIgnored := func(d *decoder) {
		for _, k := range d.ignored {
			if !seen[k] {
				seen[k] = true
				warn(fmt.Sprintf("%s: config key %q is not supported by minconsul and is ignored", d.src, k))
			}
		}
	}

	format := ""
	if fv.configFormat != nil {
		format = *fv.configFormat
	}
	files, err := expandPaths(fv.paths, format, warn)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			return nil, nil, fmt.Errorf("config file %s: %v", f.path, err)
		}
		r, d, err := decodeSource("config file "+f.path, f.format, data)
		if err != nil {
			return nil, nil, err
		}
		addIgnored(d)
		merge(merged, r)
		res.Files = append(res.Files, f.path)
	}
	merge(merged, flagValues)
	for i, h := range fv.hcl {
		r, d, err := decodeSource(fmt.Sprintf("-hcl fragment %d", i+1), "hcl", []byte(h))
		if err != nil {
			return nil, nil, err
		}
		addIgnored(d)
		merge(merged, r)
	}
	for _, name := range fv.ignored {
		warn(fmt.Sprintf("flag -%s is not supported by minconsul and is ignored", name))
	}
	if merged.NodeName == nil || *merged.NodeName == "" {
		if herr != nil {
			return nil, nil, fmt.Errorf("node_name cannot be empty (hostname: %v)", herr)
		}
	}

	cfg, err := l.build(merged, dev, warn)
	if err != nil {
		return nil, nil, err
	}
	if err := checkDataDir(cfg); err != nil {
		return nil, nil, err
	}
	cfg.Version = l.Version
	res.LogLevel = cfg.LogLevel
	res.LogJSON = merged.LogJSON != nil && *merged.LogJSON
	res.RetryInterval = *merged.RetryInterval
	res.RetryMax = *merged.RetryMax
	if res.Docker, err = dockerSettings(merged); err != nil {
		return nil, nil, err
	}
	cfg.RetryInterval = res.RetryInterval
	return cfg, res, nil
}

// decodeSource parses and type-checks one source.
func decodeSource(src, format string, data []byte) (*rawConfig, *decoder, error) {
	m, err := parseSource(src, format, data)
	if err != nil {
		return nil, nil, err
	}
	d := &decoder{src: src}
	r, err := d.decodeConfig(m)
	if err != nil {
		return nil, nil, err
	}
	return r, d, nil
}

func (l *Loader) hostname() (string, error) {
	if l.Hostname != nil {
		return l.Hostname()
	}
	return os.Hostname()
}

// splitSlices separates list fields (merged before files) from the rest.
func splitSlices(r *rawConfig) (slices, values *rawConfig) {
	slices, values = &rawConfig{}, &rawConfig{}
	src := reflect.ValueOf(r).Elem()
	sv, vv := reflect.ValueOf(slices).Elem(), reflect.ValueOf(values).Elem()
	for i := 0; i < src.NumField(); i++ {
		if src.Field(i).Kind() == reflect.Slice {
			sv.Field(i).Set(src.Field(i))
		} else {
			vv.Field(i).Set(src.Field(i))
		}
	}
	return slices, values
}

func ptr[T any](v T) *T { return &v }

// defaultSource holds every default value, in one place. -dev changes a
// few of them, as Consul's dev mode does.
func defaultSource(dev bool, hostname string) *rawConfig {
	r := &rawConfig{
		NodeName:        ptr(hostname),
		Datacenter:      ptr("dc1"),
		Domain:          ptr("consul."),
		BindAddr:        ptr("0.0.0.0"),
		ClientAddr:      ptr("127.0.0.1"),
		HTTPPort:        ptr(8500),
		DNSPort:         ptr(8600),
		ServerPort:      ptr(8300),
		SerfLANPort:     ptr(8301),
		Server:          ptr(true),
		Bootstrap:       ptr(false),
		BootstrapExpect: ptr(0),
		RetryInterval:   ptr(30 * time.Second),
		RetryMax:        ptr(0),
		LogLevel:        ptr("INFO"),
		LogJSON:         ptr(false),
		// UIEnabled stays nil (off) so that the deprecated "ui" key can
		// still apply; -dev turns it on.
		NodeTTL:         ptr(time.Duration(0)),
		OnlyPassing:     ptr(false),
		AllowStale:      ptr(true),
		MaxStale:        ptr(87600 * time.Hour),
		UDPAnswerLimit:  ptr(3),
		EnableTruncate:  ptr(false),
		RecursorTimeout: ptr(2 * time.Second),
		RaftMultiplier:  ptr(1),

		EnableScriptChecks: ptr(false),
		// Consul's check_update_interval.
		CheckUpdateInterval: ptr(5 * time.Minute),
		CheckOutputMaxSize:  ptr(4096),
		// LeaveOnTerminate stays nil: its default depends on server mode.
	}
	if dev {
		r.BindAddr = ptr("127.0.0.1")
		r.Bootstrap = ptr(true)
		r.UIEnabled = ptr(true)
		r.LogLevel = ptr("DEBUG")
	}
	return r
}

// DefaultConfig is the configuration with no flags and no files (not
// validated: it has no data directory).
func DefaultConfig() *agent.Config {
	l := &Loader{}
	hostname, _ := l.hostname()
	cfg, err := l.build(defaultSource(false, hostname), false, func(string) {})
	if err != nil {
		// Only address detection can fail here; keep the defaults usable.
		r := defaultSource(false, hostname)
		r.AdvertiseAddr = ptr("127.0.0.1")
		cfg, _ = l.build(r, false, func(string) {})
	}
	return cfg
}

var errNoDataDir = errors.New("data_dir cannot be empty")

// isAny reports whether s is 0.0.0.0, :: or [::].
func isAny(s string) bool {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return s == "0.0.0.0" || s == "::"
}
