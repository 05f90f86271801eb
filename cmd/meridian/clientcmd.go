package main

// What the client subcommands (deploy, refresh, query, tmsl, status) share:
// the --server and --json flags, opening a connection, turning errors into
// exit statuses, reading a file or stdin, and aligned text tables.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/rivo/uniseg"
	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/client"
)

// defaultServer is the server a client command talks to when neither
// --server nor MERIDIAN_SERVER says otherwise.
const defaultServer = "http://127.0.0.1:8484"

// clientFlags are the flags every client subcommand takes.
type clientFlags struct {
	server string
	json   bool
}

func (f *clientFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", "", "server URL or connection string (default $MERIDIAN_SERVER, else "+defaultServer+")")
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON document for machines instead of text")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
}

// target is the server or connection string to use.
func (f *clientFlags) target() string {
	if f.server != "" {
		return f.server
	}
	if env := strings.TrimSpace(os.Getenv("MERIDIAN_SERVER")); env != "" {
		return env
	}
	return defaultServer
}

// open connects to the target; errors carry their exit status.
func (f *clientFlags) open(ctx context.Context) (*client.Conn, error) {
	conn, err := client.Open(ctx, f.target(), client.Options{UserAgent: "meridian/" + version})
	if err != nil {
		return nil, commandError(err)
	}
	return conn, nil
}

// usageError marks a bad command line or bad input: exit status 2.
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// usageArgs wraps a cobra argument check so that its error is a usage
// error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError(fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath()))
		}
		return nil
	}
}

// commandError gives an error from the client its exit status: 3 when no
// server answered, 2 for input the client or the server refused (a bad
// connection string, bad JSON, a DAX syntax error), 1 otherwise.
func commandError(err error) error {
	var ee *exitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return err
	case client.IsUnreachable(err):
		return &exitError{code: exitUnavailable, err: err}
	case errors.Is(err, client.ErrConnString),
		errors.Is(err, client.ErrNoDatabase), errors.Is(err, client.ErrBadInput), client.IsBadRequest(err):
		return usageError(err)
	}
	return err
}

// readInput reads a named file, or standard input for "-".
func readInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxInput+1))
		if err != nil {
			return nil, usageError(fmt.Errorf("read standard input: %w", err))
		}
		if len(b) > maxInput {
			return nil, usageError(fmt.Errorf("standard input is larger than %d bytes", maxInput))
		}
		return b, nil
	}
	st, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageError(fmt.Errorf("%s: no such file", name))
	}
	if err != nil {
		return nil, usageError(err)
	}
	if st.IsDir() {
		return nil, usageError(fmt.Errorf("%s is a directory, not a file", name))
	}
	if st.Size() > maxInput {
		return nil, usageError(fmt.Errorf("%s is larger than %d bytes", name, maxInput))
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usageError(err)
	}
	return b, nil
}

// maxInput bounds files and standard input read whole: models and
// commands are megabytes at most.
const maxInput = 256 << 20

// printJSON writes v as one indented JSON document.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// textTable writes rows under a header, columns aligned by display width
// and separated by two spaces; right[i] aligns column i to the right.
func textTable(w io.Writer, header []string, rows [][]string, right []bool) {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = uniseg.StringWidth(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], uniseg.StringWidth(c))
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i >= len(widths) {
				break
			}
			pad := strings.Repeat(" ", widths[i]-uniseg.StringWidth(c))
			last := i == len(widths)-1
			switch {
			case i < len(right) && right[i]:
				b.WriteString(pad)
				b.WriteString(c)
			case last:
				b.WriteString(c)
			default:
				b.WriteString(c)
				b.WriteString(pad)
			}
			if !last {
				b.WriteString("  ")
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	rule := make([]string, len(header))
	for i := range rule {
		rule[i] = strings.Repeat("-", widths[i])
	}
	line(rule)
	for _, r := range rows {
		line(r)
	}
}

// printable replaces control characters, which would break a table's
// alignment or a terminal's state, with visible escapes.
func printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case isControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 }

// groupDigits writes n with thousands separators: 1,234,567.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// humanBytes writes a size for people: 12.3 MB.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB", "PB"} {
		f /= unit
		if f < unit {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return fmt.Sprintf("%.1f EB", f/unit)
}
