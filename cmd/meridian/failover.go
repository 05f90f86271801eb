package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/internal/group"
)

func init() { register(newFailoverCommand) }

func newFailoverCommand() *cobra.Command {
	var f groupFlags
	var to string
	var catchUp time.Duration
	cmd := &cobra.Command{
		Use:   "failover --group FILE --to NAME",
		Short: "Make a server of a group its primary and repoint the alias",
		Long: `Fail the group over to the server NAME:

  1. ask every server for its role;
  2. promote NAME: it takes over the publishing lease (which fences the old
     primary: it can publish nothing more and refuses writes), catches up
     with the store, then takes writes;
  3. tell the old primary to step down and follow the store, if it answers;
  4. write the alias object (aliasObject in the group file): NAME first,
     then the other servers;
  5. verify: NAME answers as primary and the alias names it first.

Each step is printed on standard error (one JSON object a line on standard
output with --json). Exit status 0 when verified, 1 when a step failed, 2 for
a bad group file or an unknown server.`,
		Example: `  meridian failover --group sales.yaml --to north
  meridian failover --group sales.yaml --to north --json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := f.load()
			if err != nil {
				return err
			}
			if to == "" {
				return usageError(fmt.Errorf("--to is required: the server to promote (%s)", g.Names()))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := group.Failover(ctx, g, to, group.FailoverOptions{Timeout: f.timeout, CatchUp: catchUp,
				UserAgent: "meridian/" + version, Events: eventPrinter(cmd, f.json)})
			if errors.Is(err, group.ErrUnknownServer) {
				return usageError(err)
			}
			if err != nil {
				return err
			}
			if !f.json {
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "%s (%s) is the primary of %s.\n", res.Primary.Name, res.Primary.URL, g.Name)
				for _, s := range res.Unanswered {
					fmt.Fprintf(w, "%s did not answer: if it was the primary, the lease fences it; demote it when it is back (meridian group watch does).\n", s)
				}
				for _, wr := range res.Warnings {
					fmt.Fprintf(w, "Warning: %s\n", printable(wr))
				}
			}
			return nil
		},
	}
	f.add(cmd, 10*time.Second)
	cmd.Flags().StringVar(&to, "to", "", "name of the server to promote")
	cmd.Flags().DurationVar(&catchUp, "catch-up", 5*time.Minute, "bound on the promoted server's catch-up with the store")
	return cmd
}
