package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/consul/api"

	"github.com/minconsul/minconsul/raftstore"
	"github.com/minconsul/minconsul/structs"
)

func (c *cli) snapshotCmd(args []string) int {
	c.usage(c.stderr, "snapshot")
	return 1
}

// fileArg is the single FILE argument the snapshot commands take.
func (c *cli) fileArg(args []string) (string, bool) {
	switch len(args) {
	case 0:
		c.err("Missing FILE argument")
		return "", false
	case 1:
		return args[0], true
	}
	c.err("Too many arguments (expected 1, got %d)", len(args))
	return "", false
}

// snapshotSave writes the archive to FILE.unverified, checks it the way a
// restore will, then renames it into place: a failed or truncated download
// never leaves a file that looks like a good backup.
func (c *cli) snapshotSave(args []string) int {
	var h httpFlags
	fs := c.newFlags("snapshot save")
	h.client(fs)
	h.server(fs)
	const usage = "snapshot save [options] FILE"
	if rc, ok := c.parse(fs, usage, args); !ok {
		return rc
	}
	file, ok := c.fileArg(fs.Args())
	if !ok {
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	snap, qm, err := client.Snapshot().Save(&api.QueryOptions{AllowStale: h.stale})
	if err != nil {
		c.err("Error saving snapshot: %s", err)
		return 1
	}
	defer snap.Close()

	unverified := file + ".unverified"
	if err := writeFile(unverified, snap); err != nil {
		c.err("Error writing unverified snapshot file: %s", err)
		return 1
	}
	defer os.Remove(unverified)
	if _, opened, err := readArchiveFile(unverified); !opened {
		c.err("Error opening snapshot file for verify: %s", err)
		return 1
	} else if err != nil {
		c.err("Error verifying snapshot file: %s", err)
		return 1
	}
	if err := os.Rename(unverified, file); err != nil {
		c.err("Error renaming %q to %q: %v", unverified, file, err)
		return 1
	}
	c.out("Saved and verified snapshot to index %d", qm.LastIndex)
	return 0
}

// readArchiveFile reads and verifies the backup archive at path. opened
// is false when the file could not be opened (err says why); otherwise
// err is the archive's read or verification error.
func readArchiveFile(path string) (meta *structs.SnapshotMeta, opened bool, err error) {
	meta, _, opened, err = readArchiveState(path)
	return meta, opened, err
}

// readArchiveState is readArchiveFile with the archive's state stream.
func readArchiveState(path string) (meta *structs.SnapshotMeta, state []byte, opened bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, false, err
	}
	defer f.Close()
	meta, state, err = raftstore.ReadArchive(f)
	return meta, state, true, err
}

// writeFile writes r to path and syncs it, so a crash right after the
// rename cannot leave an empty backup.
func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (c *cli) snapshotRestore(args []string) int {
	var h httpFlags
	fs := c.newFlags("snapshot restore")
	h.client(fs)
	h.server(fs)
	if rc, ok := c.parse(fs, "snapshot restore [options] FILE", args); !ok {
		return rc
	}
	file, ok := c.fileArg(fs.Args())
	if !ok {
		return 1
	}
	client, err := h.apiClient()
	if err != nil {
		return connectErr(c, err)
	}
	f, err := os.Open(file)
	if err != nil {
		c.err("Error opening snapshot file: %s", err)
		return 1
	}
	defer f.Close()
	if err := client.Snapshot().Restore(nil, f); err != nil {
		c.err("Error restoring snapshot: %s", err)
		return 1
	}
	c.out("Restored snapshot")
	return 0
}

// inspectOutput is `snapshot inspect -format=json`, with Consul's field
// names. minconsul's state stream carries no per-type statistics, so Stats
// stays empty and TotalSize is the state size.
type inspectOutput struct {
	Meta struct {
		ID      string
		Size    int64
		Index   uint64
		Term    uint64
		Version int
	}
	Stats     []raftstore.RecordStat
	TotalSize int
}

// snapshotInspect reads an archive locally (no agent needed) and prints its
// metadata as Consul's table.
func (c *cli) snapshotInspect(args []string) int {
	var format string
	fs := c.newFlags("snapshot inspect")
	fs.StringVar(&format, "format", "pretty", "Output format {pretty|json}")
	if rc, ok := c.parse(fs, "snapshot inspect [options] FILE", args); !ok {
		return rc
	}
	file, ok := c.fileArg(fs.Args())
	if !ok {
		return 1
	}
	if format != "pretty" && format != "json" {
		c.err("Error outputting enhanced snapshot data: Unknown format: %s", format)
		return 1
	}
	meta, state, opened, err := readArchiveState(file)
	if !opened {
		c.err("Error opening snapshot file: %s", err)
		return 1
	}
	if err == nil {
		var stats []raftstore.RecordStat
		if stats, err = raftstore.InspectState(state); err == nil {
			var out inspectOutput
			out.Stats = stats
			for _, s := range stats {
				out.TotalSize += s.Sum
			}
			out.Meta.ID, out.Meta.Size, out.Meta.Index, out.Meta.Term, out.Meta.Version = meta.ID, meta.Size, meta.Index, meta.Term, meta.Version
			return c.printInspect(&out, format)
		}
	}
	c.err("Error extracting snapshot data: %s", err)
	return 1
}

// printInspect prints the metadata and the per-type table as Consul does
// (a tabwriter with padding 6, a leading space on each line).
func (c *cli) printInspect(out *inspectOutput, format string) int {
	if format == "json" {
		b, err := json.MarshalIndent(out, "", "   ")
		if err != nil {
			c.err("Error outputting enhanced snapshot data: %s", err)
			return 1
		}
		c.out("%s", b)
		return 0
	}
	// Consul's layout: a tabwriter with padding 6 and a leading space.
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 8, 8, 6, ' ', 0)
	fmt.Fprintf(tw, " ID\t%s\n", out.Meta.ID)
	fmt.Fprintf(tw, " Size\t%d\n", out.Meta.Size)
	fmt.Fprintf(tw, " Index\t%d\n", out.Meta.Index)
	fmt.Fprintf(tw, " Term\t%d\n", out.Meta.Term)
	fmt.Fprintf(tw, " Version\t%d\n", out.Meta.Version)
	fmt.Fprintf(tw, "\n Type\tCount\tSize\n")
	fmt.Fprintf(tw, " ----\t----\t----\n")
	for _, s := range out.Stats {
		fmt.Fprintf(tw, " %s\t%d\t%s\n", s.Name, s.Count, byteSize(uint64(s.Sum)))
	}
	fmt.Fprintf(tw, " ----\t----\t----\n")
	fmt.Fprintf(tw, " Total\t\t%s\n", byteSize(uint64(out.TotalSize)))
	_ = tw.Flush()
	fmt.Fprint(c.stdout, b.String())
	return 0
}

// byteSize is Consul's size column: one decimal, trailing ".0" dropped,
// units B, KB, MB, GB, TB (powers of 1024).
func byteSize(n uint64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	if n == 0 {
		return "0"
	}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + units[u]
}
