package config

import (
	"fmt"
	"strings"

	"github.com/minconsul/minconsul/structs"
)

// normKey folds Consul's two spellings of definition fields ("enable_tag_override"
// and "EnableTagOverride") into one: lower case without separators.
func normKey(k string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(k))
}

// elemPath names the i-th definition: "service" for a single object,
// "services[1]" inside a list.
func elemPath(key string, v any, i int) string {
	if _, single := v.(map[string]any); single {
		return key
	}
	return fmt.Sprintf("%s[%d]", key, i)
}

func (d *decoder) services(key string, v any) ([]*structs.ServiceDefinition, error) {
	objs, err := d.objects(key, v)
	if err != nil {
		return nil, err
	}
	out := make([]*structs.ServiceDefinition, 0, len(objs))
	for i, m := range objs {
		s, err := d.service(elemPath(key, v, i), m)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (d *decoder) service(path string, m map[string]any) (*structs.ServiceDefinition, error) {
	s := &structs.ServiceDefinition{}
	for _, k := range sortedKeys(m) {
		p, v := path+"."+k, m[k]
		var err error
		switch normKey(k) {
		case "id":
			err = setStr(d, p, v, &s.ID)
		case "name":
			err = setStr(d, p, v, &s.Name)
		case "address":
			err = setStr(d, p, v, &s.Address)
		case "tags":
			s.Tags, err = d.strings(p, v)
		case "meta":
			s.Meta, err = d.stringMap(p, v)
		case "port":
			var n *int
			if n, err = d.integer(p, v); err == nil {
				if *n < 0 || *n > 65535 {
					return nil, d.errf(p, "port %d out of range (0-65535)", *n)
				}
				s.Port = *n
			}
		case "enabletagoverride":
			var b *bool
			if b, err = d.boolean(p, v); err == nil {
				s.EnableTagOverride = *b
			}
		case "weights":
			s.Weights, err = d.weights(p, v)
		case "taggedaddresses":
			s.TaggedAddresses, err = d.taggedAddresses(p, v)
		case "check":
			var chks []*structs.CheckDefinition
			if chks, err = d.checks(p, v); err == nil && len(chks) > 0 {
				s.Check = chks[0]
				s.Checks = append(s.Checks, chks[1:]...)
			}
		case "checks":
			var chks []*structs.CheckDefinition
			if chks, err = d.checks(p, v); err == nil {
				s.Checks = append(s.Checks, chks...)
			}
		default:
			d.ignore(p)
		}
		if err != nil {
			return nil, err
		}
	}
	if s.Name == "" {
		return nil, d.errf(path, "service definition has no \"name\"")
	}
	return s, nil
}

func (d *decoder) weights(path string, v any) (*structs.Weights, error) {
	m, err := d.object(path, v)
	if err != nil {
		return nil, err
	}
	w := &structs.Weights{Passing: 1, Warning: 1}
	for _, k := range sortedKeys(m) {
		p := path + "." + k
		var dst *int
		switch normKey(k) {
		case "passing":
			dst = &w.Passing
		case "warning":
			dst = &w.Warning
		default:
			d.ignore(p)
			continue
		}
		n, err := d.integer(p, m[k])
		if err != nil {
			return nil, err
		}
		*dst = *n
	}
	if w.Passing < 1 {
		return nil, d.errf(path+".passing", "must be greater than 0")
	}
	if w.Warning < 0 {
		return nil, d.errf(path+".warning", "must not be negative")
	}
	return w, nil
}

func (d *decoder) taggedAddresses(path string, v any) (map[string]structs.ServiceAddress, error) {
	m, err := d.object(path, v)
	if err != nil {
		return nil, err
	}
	out := make(map[string]structs.ServiceAddress, len(m))
	for _, name := range sortedKeys(m) {
		p := path + "." + name
		am, err := d.object(p, m[name])
		if err != nil {
			return nil, err
		}
		var sa structs.ServiceAddress
		for _, k := range sortedKeys(am) {
			switch normKey(k) {
			case "address":
				err = setStr(d, p+"."+k, am[k], &sa.Address)
			case "port":
				var n *int
				if n, err = d.integer(p+"."+k, am[k]); err == nil {
					sa.Port = *n
				}
			default:
				d.ignore(p + "." + k)
			}
			if err != nil {
				return nil, err
			}
		}
		out[name] = sa
	}
	return out, nil
}

func (d *decoder) checks(key string, v any) ([]*structs.CheckDefinition, error) {
	objs, err := d.objects(key, v)
	if err != nil {
		return nil, err
	}
	out := make([]*structs.CheckDefinition, 0, len(objs))
	for i, m := range objs {
		c, err := d.check(elemPath(key, v, i), m)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (d *decoder) check(path string, m map[string]any) (*structs.CheckDefinition, error) {
	c := &structs.CheckDefinition{}
	for _, k := range sortedKeys(m) {
		p, v := path+"."+k, m[k]
		var err error
		switch normKey(k) {
		case "id":
			err = setStr(d, p, v, &c.ID)
		case "checkid":
			err = setStr(d, p, v, &c.CheckID)
		case "name":
			err = setStr(d, p, v, &c.Name)
		case "notes":
			err = setStr(d, p, v, &c.Notes)
		case "serviceid":
			err = setStr(d, p, v, &c.ServiceID)
		case "status":
			err = setStr(d, p, v, &c.Status)
		case "http":
			err = setStr(d, p, v, &c.HTTP)
		case "method":
			err = setStr(d, p, v, &c.Method)
		case "body":
			err = setStr(d, p, v, &c.Body)
		case "tcp":
			err = setStr(d, p, v, &c.TCP)
		case "dockercontainerid":
			err = setStr(d, p, v, &c.DockerContainerID)
		case "shell":
			err = setStr(d, p, v, &c.Shell)
		case "interval":
			err = setDuration(d, p, v, &c.Interval)
		case "timeout":
			err = setDuration(d, p, v, &c.Timeout)
		case "ttl":
			err = setDuration(d, p, v, &c.TTL)
		case "deregistercriticalserviceafter":
			err = setDuration(d, p, v, &c.DeregisterCriticalServiceAfter)
		case "scriptargs":
			c.ScriptArgs, err = d.strings(p, v)
		case "args":
			c.Args, err = d.strings(p, v)
		case "tlsskipverify":
			err = setBool(d, p, v, &c.TLSSkipVerify)
		case "header":
			c.Header, err = d.header(p, v)
		case "tlsservername":
			err = setStr(d, p, v, &c.TLSServerName)
		case "grpc":
			err = setStr(d, p, v, &c.GRPC)
		case "h2ping":
			err = setStr(d, p, v, &c.H2PING)
		case "udp":
			err = setStr(d, p, v, &c.UDP)
		case "tcpusetls":
			err = setBool(d, p, v, &c.TCPUseTLS)
		case "aliasnode":
			err = setStr(d, p, v, &c.AliasNode)
		case "aliasservice":
			err = setStr(d, p, v, &c.AliasService)
		case "disableredirects":
			err = setBool(d, p, v, &c.DisableRedirects)
		case "grpcusetls":
			err = setBool(d, p, v, &c.GRPCUseTLS)
		case "h2pingusetls":
			err = setBool(d, p, v, &c.H2PingUseTLS)
		case "successbeforepassing":
			err = setInt(d, p, v, &c.SuccessBeforePassing)
		case "failuresbeforewarning":
			err = setInt(d, p, v, &c.FailuresBeforeWarning)
		case "failuresbeforecritical":
			err = setInt(d, p, v, &c.FailuresBeforeCritical)
		case "outputmaxsize":
			err = setInt(d, p, v, &c.OutputMaxSize)
		default:
			d.ignore(p)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (d *decoder) header(path string, v any) (map[string][]string, error) {
	m, err := d.object(path, v)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(m))
	for _, k := range sortedKeys(m) {
		vals, err := d.strings(path+"."+k, m[k])
		if err != nil {
			return nil, err
		}
		out[k] = vals
	}
	return out, nil
}

func setStr(d *decoder, key string, v any, dst *string) error {
	s, err := d.str(key, v)
	if err != nil {
		return err
	}
	*dst = *s
	return nil
}

func setBool(d *decoder, key string, v any, dst *bool) error {
	b, err := d.boolean(key, v)
	if err != nil {
		return err
	}
	*dst = *b
	return nil
}

func setInt(d *decoder, key string, v any, dst *int) error {
	n, err := d.integer(key, v)
	if err != nil {
		return err
	}
	*dst = *n
	return nil
}

// setDuration validates a duration but keeps Consul's string form, which
// is what structs.CheckDefinition carries.
func setDuration(d *decoder, key string, v any, dst *string) error {
	s, err := d.str(key, v)
	if err != nil {
		return err
	}
	if _, err := d.duration(key, *s); err != nil {
		return err
	}
	*dst = *s
	return nil
}
