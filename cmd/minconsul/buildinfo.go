package main

import (
	"runtime/debug"
)

// buildInfo is minconsul's own version and source revision, read from the
// Go build info: the main module's version ("(devel)" for a local build)
// and, when the binary was built from a git checkout with VCS stamping,
// the commit and whether the tree had local changes.
type buildInfo struct {
	Version  string
	Revision string
	Time     string `json:",omitempty"`
	Modified bool
}

func readBuildInfo() buildInfo {
	out := buildInfo{Version: "(devel)", Revision: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	if v := bi.Main.Version; v != "" {
		out.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			out.Revision = s.Value
		case "vcs.time":
			out.Time = s.Value
		case "vcs.modified":
			out.Modified = s.Value == "true"
		}
	}
	return out
}

// String is the `version` line: "minconsul (devel), revision 1a2b3c4d5e6f
// (modified)".
func (b buildInfo) String() string {
	rev := b.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	s := "minconsul " + b.Version + ", revision " + rev
	if b.Modified {
		s += " (modified)"
	}
	return s
}
