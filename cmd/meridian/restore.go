package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/client"
)

func init() { register(newRestoreCommand) }

// securityOptions are restore's --security values by lower-case spelling.
var securityOptions = map[string]string{
	"copyall": client.SecurityCopyAll, "skipmembership": client.SecuritySkipMembership,
	"ignoresecurity": client.SecurityIgnoreSecurity,
}

func newRestoreCommand() *cobra.Command {
	var f clientFlags
	var (
		passwordFile   string
		allowOverwrite bool
		security       string
	)
	cmd := &cobra.Command{
		Use:   "restore FILE DB",
		Short: "Restore a database from the server's backup store",
		Long: `Restore the archive FILE of the server's backup store as database DB with
TMSL restore. DB may be another name than the one backed up. The server
reads and verifies the whole archive before it commits anything: a wrong
password, a damaged or truncated file or a file of another kind is refused
and the database stays as it was; queries on it never stop.

An existing DB is refused unless --allow-overwrite. --security says what
becomes of the roles, as in Analysis Services: copyAll (the default) keeps
the backup's roles and members; skipMembership keeps its roles without
their members (over an existing database, the members its roles had);
ignoreSecurity leaves the backup's roles out (over an existing database,
its roles stay as they were).

` + passwordHelp,
		Example: `  meridian restore Sales.mbak Sales
  meridian restore nightly/Sales-2026-03-01.mbak Sales-test --password-file backup.key
  meridian restore Sales.mbak Sales --allow-overwrite --security skipMembership`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, db := args[0], args[1]
			sec := ""
			if security != "" {
				var ok bool
				if sec, ok = securityOptions[strings.ToLower(security)]; !ok {
					return usageError(fmt.Errorf("--security %q: want copyAll, skipMembership or ignoreSecurity", security))
				}
			}
			password, err := readPassword(cmd, passwordFile)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			conn, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			desc := fmt.Sprintf("Restoring %s as %s", file, db)
			if es, err := conn.Backups(ctx, file, ""); err == nil {
				for _, e := range es {
					if e.Name == file {
						desc = fmt.Sprintf("Restoring %s (%s) as %s", file, humanBytes(e.Size), db)
					}
				}
			}
			var res *client.RestoreResult
			err = serverJob(cmd, ctx, desc, "the server cancels the restore and changes nothing", func() error {
				var err error
				res, err = conn.Restore(ctx, file, db, client.RestoreOptions{
					AllowOverwrite: allowOverwrite, Password: password, Security: sec})
				return err
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				if res.Messages == nil {
					res.Messages = []client.Message{}
				}
				return printJSON(out, res)
			}
			fmt.Fprintln(out, restoreSummary(res))
			for _, n := range res.Notes {
				fmt.Fprintf(out, "  %s\n", printable(n))
			}
			return nil
		},
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&passwordFile, "password-file", "", "file holding the backup's password (\"-\": standard input)")
	fl.BoolVar(&allowOverwrite, "allow-overwrite", false, "replace DB if it exists")
	fl.StringVar(&security, "security", "", "roles: copyAll (default), skipMembership or ignoreSecurity")
	return cmd
}

// restoreSummary is the line printed when a restore ends.
func restoreSummary(r *client.RestoreResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Restored %s as %s version %d on %s", r.File, r.Database, r.Version, r.Server)
	if r.ReplacedVersion != nil {
		fmt.Fprintf(&b, " (replacing version %d)", *r.ReplacedVersion)
	}
	fmt.Fprintf(&b, ": database %s version %d", r.FromDatabase, r.FromVersion)
	if !r.BackupTime.IsZero() {
		fmt.Fprintf(&b, " backed up %s", r.BackupTime.UTC().Format(time.DateTime+" UTC"))
	}
	if r.FromServer != "" {
		fmt.Fprintf(&b, " on %s", r.FromServer)
	}
	fmt.Fprintf(&b, "; %s, %s from an archive of %s, in %s (%s).", plural(r.Objects, "object"), humanBytes(r.ObjectBytes),
		humanBytes(r.ArchiveBytes), seconds(r.Seconds), throughput(r.ObjectBytes, r.Seconds))
	return b.String()
}
