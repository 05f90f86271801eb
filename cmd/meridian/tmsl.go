package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/client"
)

func init() { register(newTMSLCommand) }

func newTMSLCommand() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "tmsl FILE.json",
		Short: "Send a TMSL command to the server",
		Long: `Send one TMSL command object (createOrReplace, create, alter, delete,
refresh, sequence, backup, restore, synchronize) to the primary server and
print its messages. "-" reads the command from standard input.`,
		Example: `  meridian tmsl refresh.json
  echo '{"delete":{"object":{"database":"Sales"}}}' | meridian tmsl -`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			conn, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer conn.Close()
			msgs, err := conn.TMSL(cmd.Context(), body)
			if err != nil {
				return commandError(err)
			}
			out := cmd.OutOrStdout()
			if f.json {
				if msgs == nil {
					msgs = []client.Message{}
				}
				return printJSON(out, map[string]any{"messages": msgs})
			}
			if len(msgs) == 0 {
				fmt.Fprintln(out, "Done.")
				return nil
			}
			fmt.Fprintln(out, "Done. Messages:")
			printMessages(out, msgs)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}
