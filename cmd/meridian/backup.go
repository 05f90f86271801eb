package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/meridian-olap/meridian/client"
)

func init() { register(newBackupCommand) }

// passwordEnv is read when no --password-file is given.
const passwordEnv = "MERIDIAN_BACKUP_PASSWORD"

// passwordHelp is the part of backup's and restore's help about
// passwords.
const passwordHelp = `Passwords are never taken on the command line, where other users of the
machine can read them (ps) and shells keep them (history). Give the
password in a file with --password-file (its content without the trailing
newline; "-" reads standard input), or in the environment variable
` + passwordEnv + `. Beware that the environment of a process can be read
by the same user's other processes, and that a variable set on the
command line itself ("` + passwordEnv + `=... meridian backup ...") is
kept in the shell's history like any other argument.`

func newBackupCommand() *cobra.Command {
	var f clientFlags
	var (
		passwordFile   string
		noCompression  bool
		allowOverwrite bool
	)
	cmd := &cobra.Command{
		Use:   "backup DB FILE",
		Short: "Back up a database to the server's backup store",
		Long: `Back up database DB with TMSL backup: the server writes its current version as
one archive named FILE in its backup store (serve --backup-store: a folder,
Azure Blob Storage or S3). FILE is relative to the store; folders are
separated by /. Queries and refreshes go on while the backup is written.

The archive is compressed unless --no-compression, and encrypted when a
password is given. An existing FILE is refused unless --allow-overwrite.

` + passwordHelp,
		Example: `  meridian backup Sales Sales.mbak
  meridian backup Sales nightly/Sales-2026-03-01.mbak --password-file /etc/meridian/backup.key
  meridian backup Sales Sales.mbak --allow-overwrite --json`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, file := args[0], args[1]
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
			// The size, for the progress line only.
			desc := fmt.Sprintf("Backing up %s to %s", db, file)
			if dbs, err := conn.Databases(ctx); err == nil {
				for _, d := range dbs {
					if strings.EqualFold(d.Name, db) && d.SizeBytes > 0 {
						desc = fmt.Sprintf("Backing up %s (%s) to %s", d.Name, humanBytes(d.SizeBytes), file)
					}
				}
			}
			var res *client.BackupResult
			err = serverJob(cmd, ctx, desc, "the server cancels the backup and writes no file", func() error {
				var err error
				res, err = conn.Backup(ctx, db, file, client.BackupOptions{
					AllowOverwrite: allowOverwrite, NoCompression: noCompression, Password: password})
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
			fmt.Fprintln(out, backupSummary(res))
			return nil
		},
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&passwordFile, "password-file", "", "file holding the password to encrypt the backup with (\"-\": standard input)")
	fl.BoolVar(&noCompression, "no-compression", false, "write the archive without compression (applyCompression false)")
	fl.BoolVar(&allowOverwrite, "allow-overwrite", false, "replace FILE if it exists")
	return cmd
}

// backupSummary is the line printed when a backup ends.
func backupSummary(r *client.BackupResult) string {
	var flags []string
	if r.Compressed {
		flags = append(flags, "compressed")
	}
	if r.Encrypted {
		flags = append(flags, "encrypted")
	}
	what := "archive"
	if len(flags) > 0 {
		what = strings.Join(flags, ", ") + " archive"
	}
	return fmt.Sprintf("Backed up %s (version %d, %s, %s) to %s in %s: %s of %s, in %s (%s).",
		r.Database, r.Version, plural(r.Objects, "object"), humanBytes(r.ObjectBytes), r.File, r.Store,
		what, humanBytes(r.ArchiveBytes), seconds(r.Seconds), throughput(r.ObjectBytes, r.Seconds))
}

// seconds writes a duration given in seconds for people.
func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

// throughput writes bytes per second for people.
func throughput(n int64, s float64) string {
	if s <= 0 {
		return "-"
	}
	return humanBytes(int64(float64(n)/s)) + "/s"
}

// readPassword reads the password from --password-file, else from
// $MERIDIAN_BACKUP_PASSWORD; "" when neither is given.
func readPassword(cmd *cobra.Command, file string) (string, error) {
	if file == "" {
		return os.Getenv(passwordEnv), nil
	}
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<10))
	} else {
		b, err = os.ReadFile(file)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", usageError(fmt.Errorf("--password-file %s: no such file", file))
	case err != nil:
		return "", usageError(fmt.Errorf("--password-file %s: %w", file, err))
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", usageError(fmt.Errorf("--password-file %s is empty", file))
	}
	return pw, nil
}

// serverJob runs one long synchronous request behind a spinner. When
// ctx ends but the command's own context has not (an interrupt), the
// error says what the server does about it: interrupted.
func serverJob(cmd *cobra.Command, ctx context.Context, desc, interrupted string, f func() error) error {
	err := withSpinner(cmd.ErrOrStderr(), desc, f)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && cmd.Context().Err() == nil {
		return errors.New("interrupted: " + interrupted)
	}
	return commandError(err)
}

// withSpinner runs f while a spinner with the elapsed time turns on w:
// backup and restore are one synchronous request, so there is no
// fraction done to show, only that the server is at work. When w is not
// a terminal (a log, a pipe), the description is written once instead.
func withSpinner(w io.Writer, desc string, f func() error) error {
	if fd, ok := w.(interface{ Fd() uintptr }); !ok || !term.IsTerminal(int(fd.Fd())) {
		fmt.Fprintln(w, desc+" ...")
		return f()
	}
	bar := progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				bar.Add(1)
			}
		}
	})
	err := f()
	cancel()
	wg.Wait()
	bar.Finish()
	return err
}
