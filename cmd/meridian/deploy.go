package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/client"
)

func init() { register(newDeployCommand) }

func newDeployCommand() *cobra.Command {
	var f clientFlags
	var database string
	cmd := &cobra.Command{
		Use:   "deploy FILE.bim",
		Short: "Deploy a tabular model (.bim) as a database",
		Long: `Deploy a tabular model: the database object of a .bim file (TMSL JSON,
compatibility level 1200 or later) is sent as a createOrReplace command to the
primary server. "-" reads the model from standard input.

The database is named by the file's "name", or by --database. A new or
changed model is unprocessed until refreshed (meridian refresh).`,
		Example: `  meridian deploy model.bim
  meridian deploy model.bim --database Sales-test --server http://127.0.0.1:8484`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			bim, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			// Check the file before connecting: a broken file is the
			// same mistake whether or not a server is up.
			if _, _, err := client.DeployCommand(bim, database); err != nil {
				return usageError(fmt.Errorf("%s: %w", args[0], err))
			}
			conn, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer conn.Close()
			res, err := conn.Deploy(cmd.Context(), bim, database)
			if err != nil {
				return commandError(err)
			}
			out := cmd.OutOrStdout()
			if f.json {
				if res.Messages == nil {
					res.Messages = []client.Message{}
				}
				return printJSON(out, res)
			}
			fmt.Fprintf(out, "Deployed database %q to %s.\n", res.Database, res.Server)
			printMessages(out, res.Messages)
			fmt.Fprintf(out, "Refresh it to load its data: meridian refresh %s\n", shellQuote(res.Database))
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&database, "database", "", "name to deploy the database as (default: the name in the file)")
	return cmd
}

// printMessages lists a command's messages, one a line, with their type.
func printMessages(w io.Writer, msgs []client.Message) {
	for _, m := range msgs {
		typ := m.Type
		if typ == "" {
			typ = "message"
		}
		line := typ + ": " + printable(m.Message)
		if m.Code != "" {
			line = typ + " (" + m.Code + "): " + printable(m.Message)
		}
		fmt.Fprintln(w, "  "+line)
	}
}

// shellQuote quotes a word for a POSIX shell when it needs it, so that
// printed commands can be pasted.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
