// Command meridian is the Meridian analysis server and its command-line
// client in one binary: "meridian serve" runs a server; the other
// subcommands talk to one over HTTP. Each subcommand lives in its own file
// and registers itself in an init function.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// subcommands are the constructors of the subcommands, registered by the
// files that define them.
var subcommands []func() *cobra.Command

func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

func main() {
	root := newRootCommand()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "meridian:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "meridian",
		Short:         "Meridian: a tabular analysis server with DAX and high availability",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "meridian", version)
		},
	})
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}

// exitError carries a process exit status chosen by a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Exit statuses scripts can rely on.
const (
	exitFailure     = 1 // the operation failed
	exitUsage       = 2 // bad command line or input
	exitUnavailable = 3 // no server answered
)

// exitCode maps an error to the process exit status.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}
