package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// LongTimeout bounds one backup or restore request when BackupOptions and
// RestoreOptions give no Timeout: the server answers only when the
// archive is written or committed, which for a large database takes as
// long as moving its bytes. The caller's context still ends it sooner.
const LongTimeout = 24 * time.Hour

// BackupOptions are the options of TMSL backup.
type BackupOptions struct {
	// AllowOverwrite replaces a file of the same name (Analysis Services'
	// default is false: the backup is refused).
	AllowOverwrite bool
	// NoCompression turns applyCompression off (it is on by default).
	NoCompression bool
	// Password encrypts the archive; empty writes it unencrypted.
	Password string
	// Timeout bounds the request; zero means LongTimeout.
	Timeout time.Duration
}

// BackupResult is the server's account of a backup.
type BackupResult struct {
	Database     string  `json:"database"`
	Version      int64   `json:"version"`
	ImageHash    string  `json:"imageHash"`
	File         string  `json:"file"`
	Store        string  `json:"store"`
	Objects      int     `json:"objects"`
	ObjectBytes  int64   `json:"objectBytes"`
	ArchiveBytes int64   `json:"archiveBytes"`
	Compressed   bool    `json:"compressed"`
	Encrypted    bool    `json:"encrypted"`
	Seconds      float64 `json:"seconds"`
	// Messages are the TMSL answer's messages.
	Messages []Message `json:"messages"`
	// Server is the server that took the backup.
	Server string `json:"server"`
}

// Backup backs up database db ("" for Initial Catalog) to file, an
// object name in the server's backup store, with TMSL backup. It is a
// write: sent to the primary only, never retried.
func (c *Conn) Backup(ctx context.Context, db, file string, opts BackupOptions) (*BackupResult, error) {
	db, err := c.database(db)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(file) == "" {
		return nil, fmt.Errorf("backup %s: %w: no file name", db, ErrBadInput)
	}
	cmd := map[string]any{"database": db, "file": file, "allowOverwrite": opts.AllowOverwrite, "applyCompression": !opts.NoCompression}
	if opts.Password != "" {
		cmd["password"] = opts.Password
	}
	var out struct {
		Messages []Message    `json:"messages"`
		Backup   BackupResult `json:"backup"`
	}
	server, err := c.longTMSL(ctx, map[string]any{"backup": cmd}, opts.Timeout, &out)
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", db, err)
	}
	res := out.Backup
	res.Messages, res.Server = out.Messages, server
	return &res, nil
}

// Restore security options, as Analysis Services defines them.
const (
	SecurityCopyAll        = "copyAll"
	SecuritySkipMembership = "skipMembership"
	SecurityIgnoreSecurity = "ignoreSecurity"
)

// RestoreOptions are the options of TMSL restore.
type RestoreOptions struct {
	// AllowOverwrite replaces an existing database of the same name
	// (the default, false, refuses the restore).
	AllowOverwrite bool
	// Password opens an encrypted archive.
	Password string
	// Security is copyAll (the default when empty), skipMembership or
	// ignoreSecurity.
	Security string
	// Timeout bounds the request; zero means LongTimeout.
	Timeout time.Duration
}

// RestoreResult is the server's account of a restore.
type RestoreResult struct {
	Database        string    `json:"database"`
	Version         int64     `json:"version"`
	ImageHash       string    `json:"imageHash"`
	File            string    `json:"file"`
	Store           string    `json:"store"`
	FromDatabase    string    `json:"fromDatabase"`
	FromVersion     int64     `json:"fromVersion"`
	FromServer      string    `json:"fromServer,omitempty"`
	BackupTime      time.Time `json:"backupTime"`
	ReplacedVersion *int64    `json:"replacedVersion,omitempty"`
	Security        string    `json:"security"`
	Objects         int       `json:"objects"`
	ObjectBytes     int64     `json:"objectBytes"`
	ArchiveBytes    int64     `json:"archiveBytes"`
	Seconds         float64   `json:"seconds"`
	Notes           []string  `json:"notes,omitempty"`
	Messages        []Message `json:"messages"`
	// Server is the server that restored the database.
	Server string `json:"server"`
}

// Restore restores file, an object name in the server's backup store,
// as database db with TMSL restore. It is a write.
func (c *Conn) Restore(ctx context.Context, file, db string, opts RestoreOptions) (*RestoreResult, error) {
	db, err := c.database(db)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(file) == "" {
		return nil, fmt.Errorf("restore %s: %w: no file name", db, ErrBadInput)
	}
	switch opts.Security {
	case "", SecurityCopyAll, SecuritySkipMembership, SecurityIgnoreSecurity:
	default:
		return nil, fmt.Errorf("restore %s: %w: security %q: want copyAll, skipMembership or ignoreSecurity", db, ErrBadInput, opts.Security)
	}
	cmd := map[string]any{"database": db, "file": file, "allowOverwrite": opts.AllowOverwrite}
	if opts.Password != "" {
		cmd["password"] = opts.Password
	}
	if opts.Security != "" {
		cmd["security"] = opts.Security
	}
	var out struct {
		Messages []Message     `json:"messages"`
		Restore  RestoreResult `json:"restore"`
	}
	server, err := c.longTMSL(ctx, map[string]any{"restore": cmd}, opts.Timeout, &out)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", db, err)
	}
	res := out.Restore
	res.Messages, res.Server = out.Messages, server
	return &res, nil
}

// longTMSL sends a TMSL command that runs as long as it takes, decoding
// the answer into out, and returns the server that answered.
func (c *Conn) longTMSL(ctx context.Context, cmd any, timeout time.Duration, out any) (string, error) {
	body, err := json.Marshal(cmd)
	if err != nil {
		return "", err
	}
	if timeout <= 0 {
		timeout = LongTimeout
	}
	a, err := c.do(ctx, call{method: http.MethodPost, path: "/tmsl", body: body, write: true, timeout: timeout,
		decode: func(a *answer) error {
			if len(bytes.TrimSpace(a.body)) == 0 {
				return fmt.Errorf("empty answer")
			}
			return json.Unmarshal(a.body, out)
		}})
	if err != nil {
		return "", err
	}
	return a.server, nil
}

// BackupEntry is one object of a server's backup store.
type BackupEntry struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// Time is when the backup was taken, or when the object was last
	// written for objects Meridian did not write.
	Time     time.Time `json:"time"`
	Modified time.Time `json:"modified"`
	// Meridian is set for backups written by a Meridian server, which
	// carry the fields below.
	Meridian   bool   `json:"meridian"`
	Database   string `json:"database,omitempty"`
	Version    int64  `json:"version,omitempty"`
	ImageHash  string `json:"imageHash,omitempty"`
	Server     string `json:"server,omitempty"`
	Schedule   string `json:"schedule,omitempty"`
	Compressed bool   `json:"compressed,omitempty"`
	Encrypted  bool   `json:"encrypted,omitempty"`
}

// Backups lists the server's backup store: the objects under prefix (""
// for all) of database db ("" for every database), oldest first. It is
// a read, answered by the first healthy server (normally the primary,
// whose store the backups went to).
func (c *Conn) Backups(ctx context.Context, prefix, db string) ([]BackupEntry, error) {
	q := url.Values{}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if db != "" {
		q.Set("database", db)
	}
	path := "/backups"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out []BackupEntry
	_, err := c.do(ctx, call{method: http.MethodGet, path: path, decode: func(a *answer) error {
		return json.Unmarshal(a.body, &out)
	}})
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	return out, nil
}
