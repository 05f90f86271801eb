package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/client"
)

func init() { register(newBackupsCommand) }

func newBackupsCommand() *cobra.Command {
	var f clientFlags
	var prefix, database string
	cmd := &cobra.Command{
		Use:   "backups",
		Short: "List the backups in the server's backup store",
		Long: `List the objects of the server's backup store, oldest first: name, size, when
the backup was taken, and the database and version it holds. Objects that
Meridian did not write (copied in by other means) are listed with what the
store knows of them.`,
		Example: `  meridian backups
  meridian backups --prefix nightly/ --database Sales --json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer conn.Close()
			es, err := conn.Backups(cmd.Context(), prefix, database)
			if err != nil {
				return commandError(err)
			}
			out := cmd.OutOrStdout()
			if f.json {
				if es == nil {
					es = []client.BackupEntry{}
				}
				return printJSON(out, es)
			}
			if len(es) == 0 {
				fmt.Fprintln(out, "No backups.")
				return nil
			}
			rows := make([][]string, 0, len(es))
			for _, e := range es {
				db, version, server := "?", "", ""
				var notes []string
				if e.Meridian {
					db, version, server = printable(e.Database), fmt.Sprint(e.Version), printable(e.Server)
					if e.Compressed {
						notes = append(notes, "compressed")
					}
					if e.Encrypted {
						notes = append(notes, "encrypted")
					}
					if e.Schedule != "" {
						notes = append(notes, "schedule "+printable(e.Schedule))
					}
				} else {
					notes = append(notes, "not written by Meridian")
				}
				rows = append(rows, []string{printable(e.Name), humanBytes(e.Size), e.Time.UTC().Format(time.DateTime),
					db, version, server, strings.Join(notes, ", ")})
			}
			textTable(out, []string{"NAME", "SIZE", "TIME (UTC)", "DATABASE", "VERSION", "SERVER", "NOTES"}, rows,
				[]bool{false, true, false, false, true})
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&prefix, "prefix", "", "list only names that start with this (a folder: nightly/)")
	cmd.Flags().StringVar(&database, "database", "", "list only the backups of this database")
	return cmd
}
