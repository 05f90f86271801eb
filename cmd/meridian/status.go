package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/client"
)

func init() { register(newStatusCommand) }

// statusServer is one server in the output of meridian status.
type statusServer struct {
	URL            string                `json:"url"`
	Healthy        bool                  `json:"healthy"`
	Ready          bool                  `json:"ready"`
	LatencyMs      float64               `json:"latencyMs"`
	Error          string                `json:"error,omitempty"`
	Databases      []client.DatabaseInfo `json:"databases"`
	DatabasesError string                `json:"databasesError,omitempty"`
}

func newStatusCommand() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the health of the servers and their databases",
		Long: `Show whether each server of --server answers (healthy) and has loaded its
databases (ready), and list each healthy server's databases: name, version,
state, size and when it was last processed.

Exit status 3 when no server answers.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cs, err := client.ParseConnectionString(f.target())
			if err != nil {
				return usageError(err)
			}
			servers, openErr := serverStatus(ctx, cs)
			out := cmd.OutOrStdout()
			if f.json {
				if err := printJSON(out, map[string]any{"servers": servers}); err != nil {
					return err
				}
			} else {
				printStatus(out, servers)
			}
			if openErr != nil {
				return commandError(openErr)
			}
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

// serverStatus probes every server (aliases resolved) and lists the
// databases of the healthy ones. The error is that of opening the list
// when no server answers.
func serverStatus(ctx context.Context, cs *client.ConnString) ([]statusServer, error) {
	conn, err := client.OpenConnString(ctx, cs, client.Options{UserAgent: "meridian/" + version})
	if err != nil {
		out := make([]statusServer, len(cs.Sources))
		for i, s := range cs.Sources {
			out[i] = statusServer{URL: s.URL, Error: errorText(err)}
		}
		return out, err
	}
	defer conn.Close()
	health, err := conn.Health(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]statusServer, len(health))
	for i, h := range health {
		s := &out[i]
		s.URL = h.URL
		s.Healthy, s.Ready = h.Healthy, h.Ready
		s.LatencyMs = float64(h.Latency.Microseconds()) / 1000
		if h.Err != nil {
			s.Error = errorText(h.Err)
		}
		if !h.Healthy {
			continue
		}
		// Each server's own list: replicas may differ.
		one, err := client.Open(ctx, h.URL, client.Options{UserAgent: "meridian/" + version})
		if err != nil {
			s.DatabasesError = errorText(err)
			continue
		}
		dbs, err := one.Databases(ctx)
		one.Close()
		if err != nil {
			s.DatabasesError = errorText(err)
			continue
		}
		if dbs == nil {
			dbs = []client.DatabaseInfo{}
		}
		s.Databases = dbs
	}
	return out, nil
}

func printStatus(w io.Writer, servers []statusServer) {
	rows := make([][]string, len(servers))
	for i, s := range servers {
		state := "unreachable"
		switch {
		case s.Healthy && s.Ready:
			state = "healthy, ready"
		case s.Healthy:
			state = "healthy, not ready"
		}
		latency := ""
		if s.Healthy {
			latency = fmt.Sprintf("%.1f ms", s.LatencyMs)
		}
		rows[i] = []string{s.URL, state, latency}
	}
	textTable(w, []string{"SERVER", "STATE", "LATENCY"}, rows, []bool{false, false, true})
	for _, s := range servers {
		if !s.Healthy {
			if s.Error != "" {
				fmt.Fprintf(w, "%s: %s\n", s.URL, printable(s.Error))
			}
			continue
		}
		fmt.Fprintln(w)
		switch {
		case s.DatabasesError != "":
			fmt.Fprintf(w, "Databases on %s: %s\n", s.URL, printable(s.DatabasesError))
		case len(s.Databases) == 0:
			fmt.Fprintf(w, "No databases on %s yet; deploy one with: meridian deploy FILE.bim\n", s.URL)
		default:
			fmt.Fprintf(w, "Databases on %s:\n", s.URL)
			rows := make([][]string, len(s.Databases))
			for i, d := range s.Databases {
				last := "never"
				if !d.LastProcessed.IsZero() {
					last = d.LastProcessed.UTC().Format(time.DateTime) + " UTC"
				}
				rows[i] = []string{printable(d.Name), fmt.Sprint(d.Version), printable(d.State), humanBytes(d.SizeBytes), last}
			}
			textTable(w, []string{"NAME", "VERSION", "STATE", "SIZE", "LAST PROCESSED"}, rows, []bool{false, true, false, true, false})
		}
	}
}

// errorText is an error without the server URL, which the output already
// gives next to it.
func errorText(err error) string {
	var e *client.Error
	if errors.As(err, &e) && e.Message != "" && !errors.Is(err, client.ErrAlias) {
		if e.StatusCode != 0 {
			return fmt.Sprintf("%d %s: %s", e.StatusCode, e.Code, e.Message)
		}
		return e.Message
	}
	return err.Error()
}
