package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/image"
	"github.com/meridian-olap/meridian/internal/model"
	"github.com/meridian-olap/meridian/internal/value"
)

// Limits on what a synchronize accepts from its source, whatever the
// source claims.
const (
	syncMaxManifest  = 64 << 20 // bytes of a manifest
	syncMaxObject    = 1 << 30  // bytes of one object
	syncMaxStaged    = 256 << 20
	syncParallelism  = 4
	syncAttempts     = 3 // a source that commits during the transfer is read again
	syncDefaultWait  = time.Minute
	syncObjectWait   = 10 * time.Minute
	syncMaxErrorBody = 4 << 10
)

// errSourceChanged: an object the source's manifest listed is gone from
// the source, which has committed a newer version and collected the old
// one; the transfer starts again from the manifest.
var errSourceChanged = errors.New("the source committed a newer version during the transfer")

// synchronize runs TMSL synchronize: it pulls the current image of a
// database from another Meridian server (GET /images/{db}, then GET
// /objects/{hash} for each object this server does not hold, in parallel,
// each verified against its hash and size), applies synchronizeSecurity
// to the model, and commits the image through CommitImage, which checks
// and decodes all of it first. An image whose content is unchanged keeps
// the source's version when it is above the local one, so that the two
// servers are in sync (same version and image hash); otherwise it becomes
// the next local version.
//
// The source is a connection string (client.ParseConnectionString):
// Data Source lists the source servers, tried in order; Initial Catalog,
// when given, names the database on the source (by default the same
// name). Keys Analysis Services tools add and Meridian has no use for
// (Provider, Integrated Security, Persist Security Info, Impersonation
// Level, Application Name) are ignored.
func (m *Manager) synchronize(ctx context.Context, cmd *model.Synchronize) (*ExecResult, error) {
	if !m.ready.Load() {
		return nil, ErrNotReady
	}
	// Refuse on a follower before transferring anything.
	if r := m.repl.Load(); r != nil {
		if err := r.allowWrite(ctx); err != nil {
			return nil, err
		}
	}
	if err := checkSyncName(cmd.Database); err != nil {
		return nil, err
	}
	cs, err := parseSyncSource(cmd.Source)
	if err != nil {
		return nil, err
	}
	srcDB := cmd.Database
	if cs.Catalog != "" {
		srcDB = cs.Catalog
	}
	p := &puller{m: m, hc: &http.Client{}, timeout: cs.Timeout}
	if p.timeout == 0 {
		p.timeout = syncDefaultWait
	}
	for _, s := range cs.Sources {
		if s.Alias {
			return nil, fmt.Errorf("%w: synchronize source %s: link:// aliases are not resolved by the server; give the source server's URL", ErrBadRequest, s.URL)
		}
		p.sources = append(p.sources, s.URL)
	}
	var lastErr error
	for range syncAttempts {
		res, err := p.pull(ctx, srcDB, cmd.Database, cmd.SynchronizeSecurity)
		if !errors.Is(err, errSourceChanged) {
			return res, err
		}
		lastErr = err
		m.log.Info("synchronize: the source changed during the transfer; starting again", "database", cmd.Database, "err", err)
	}
	return nil, fmt.Errorf("%w: synchronize %q: %w", ErrSyncSource, cmd.Database, lastErr)
}

func checkSyncName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%w: synchronize: the database has no name", ErrBadRequest)
	}
	return nil
}

// syncIgnoredKeys are connection-string keys of Analysis Services tools
// that mean nothing to Meridian.
var syncIgnoredKeys = map[string]bool{
	"provider": true, "integrated security": true, "persist security info": true,
	"impersonation level": true, "application name": true,
}

// parseSyncSource parses a synchronize source connection string.
func parseSyncSource(s string) (*client.ConnString, error) {
	cs, err := client.ParseConnectionString(dropSyncKeys(s))
	if err != nil {
		return nil, fmt.Errorf("%w: synchronize.source: %w", ErrBadRequest, err)
	}
	return cs, nil
}

// dropSyncKeys removes the pairs whose keys syncIgnoredKeys lists. It
// splits on semicolons outside quotes; what it cannot read it leaves to
// the connection-string parser, which says what is wrong.
func dropSyncKeys(s string) string {
	var parts []string
	var quote byte
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			switch {
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '"' || c == '\'') && i > 0 && strings.TrimSpace(s[strings.LastIndexAny(s[:i], "=;")+1:i]) == "":
				quote = c
			}
			if quote != 0 || c != ';' {
				continue
			}
		}
		parts = append(parts, s[start:i])
		start = i + 1
	}
	if quote != 0 {
		return s
	}
	kept := parts[:0]
	for _, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if ok && syncIgnoredKeys[strings.ToLower(strings.Join(strings.Fields(k), " "))] {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, ";")
}

// puller transfers one image from a source server.
type puller struct {
	m       *Manager
	hc      *http.Client
	sources []string
	timeout time.Duration
}

// pull transfers and commits the image once.
func (p *puller) pull(ctx context.Context, srcDB, name, security string) (*ExecResult, error) {
	start := time.Now()
	base, man, err := p.manifest(ctx, srcDB)
	if err != nil {
		return nil, err
	}
	for _, o := range man.Objects {
		if o.Size > syncMaxObject {
			return nil, fmt.Errorf("%w: %s lists object %s of %d bytes (the limit is %d)", ErrSyncSource, base, o.Hash, o.Size, int64(syncMaxObject))
		}
	}
	src := image.NewPrefetcher(man, p.m.cat, func(ctx context.Context, o image.ObjectRef) ([]byte, error) {
		return p.fetch(ctx, base, o)
	})
	// The model decides the security rewrite, so it comes first.
	tmsl, err := src.ReadObject(ctx, man.Model)
	if err != nil {
		return nil, err
	}
	if !p.m.cat.HasObject(man.Model) {
		// read once more by the commit
		src.Stage(image.ObjectRef{Hash: man.Model, Size: int64(len(tmsl)), Kind: image.KindModel}, tmsl)
	}
	cur, err := p.m.Current(name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	def, err := model.Parse(tmsl)
	if err != nil {
		return nil, fmt.Errorf("%w: the model of %q on %s: %w", ErrSyncSource, srcDB, base, err)
	}
	notes, newModel, err := rewriteModel(def, name, security, cur)
	if err != nil {
		return nil, err
	}
	out := ""
	for _, n := range notes {
		out += "; " + n
	}
	target := man
	changed := newModel != nil
	if changed {
		h := image.Sum(newModel)
		target = &image.Manifest{Database: name, Version: man.Version, CommitTime: man.CommitTime, State: man.State,
			LastProcessed: man.LastProcessed, Model: h, Data: man.Data}
		for _, o := range man.Objects {
			if o.Hash != man.Model {
				target.Objects = append(target.Objects, o)
			}
		}
		ref := image.ObjectRef{Hash: h, Size: int64(len(newModel)), Kind: image.KindModel}
		target.Objects = append(target.Objects, ref)
		src.Stage(ref, newModel)
	}
	if cur != nil && cur.Manifest.ContentHash() == target.ContentHash() && cur.Manifest.Version >= man.Version {
		return &ExecResult{Messages: []string{fmt.Sprintf("database %q is in sync with %s already (version %d, image %s)%s",
			cur.Name, base, cur.Manifest.Version, cur.Manifest.ContentHash(), out)}}, nil
	}

	held := 0
	for _, o := range target.Objects {
		if p.m.cat.HasObject(o.Hash) {
			held++
		}
	}
	if err := src.Prefetch(ctx, syncParallelism, syncMaxStaged); err != nil {
		return nil, err
	}
	keep := !changed && (cur == nil || cur.Manifest.Version < man.Version)
	v, err := p.m.CommitImage(ctx, name, target, src, CommitImageOptions{KeepVersion: keep, Overwrite: true})
	if err != nil {
		if errors.Is(err, errSourceChanged) {
			return nil, err
		}
		return nil, fmt.Errorf("synchronize %q from %s: %w", name, base, err)
	}
	n, bytes := src.Fetched()
	msg := fmt.Sprintf("database %q synchronized from %s (database %q version %d): committed as version %d, image %s; %d objects (%d bytes) transferred, %d held already, in %v",
		v.Name, base, man.Database, man.Version, v.Manifest.Version, v.Manifest.ContentHash(), n, bytes, held, time.Since(start).Round(time.Millisecond))
	p.m.log.Info("synchronized", "database", v.Name, "source", base, "version", v.Manifest.Version, "objects", n, "bytes", bytes)
	return &ExecResult{Messages: []string{msg + out}}, nil
}

// manifest fetches and checks the source's manifest, trying each source
// server in order.
func (p *puller) manifest(ctx context.Context, srcDB string) (string, *image.Manifest, error) {
	var errs []error
	for _, base := range p.sources {
		body, status, err := p.get(ctx, base+"/images/"+url.PathEscape(srcDB), syncMaxManifest, p.timeout)
		switch {
		case err != nil:
			errs = append(errs, err)
			continue
		case status == http.StatusNotFound:
			return "", nil, fmt.Errorf("%w: synchronize: the source %s has no database %q (%s)", ErrBadRequest, base, srcDB, errorText(body))
		case status != http.StatusOK:
			errs = append(errs, fmt.Errorf("%s answered %d: %s", base, status, errorText(body)))
			continue
		}
		man, err := image.Unmarshal(body)
		if err != nil {
			return "", nil, fmt.Errorf("%w: the manifest of %q from %s: %w", ErrSyncSource, srcDB, base, err)
		}
		if !value.EqualText(man.Database, srcDB) {
			return "", nil, fmt.Errorf("%w: %s answered the manifest of %q when asked for %q", ErrSyncSource, base, man.Database, srcDB)
		}
		return base, man, nil
	}
	return "", nil, fmt.Errorf("%w: no source server answered: %w", ErrSyncSource, errors.Join(errs...))
}

// get reads a URL's body, at most limit bytes.
func (p *puller) get(ctx context.Context, u string, limit int64, timeout time.Duration) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		limit = syncMaxErrorBody
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	if int64(len(body)) > limit {
		if resp.StatusCode != http.StatusOK {
			body = body[:limit]
		} else {
			return nil, 0, fmt.Errorf("%w: GET %s: more than %d bytes", ErrSyncSource, u, limit)
		}
	}
	return body, resp.StatusCode, nil
}

// errorText is the message of a JSON error answer, or the body.
func errorText(body []byte) string {
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Code + ": " + e.Error.Message
	}
	return strings.TrimSpace(string(bytes.ToValidUTF8(body, []byte("?"))))
}

// fetch reads one object from the source and verifies its size and
// hash.
func (p *puller) fetch(ctx context.Context, base string, o image.ObjectRef) ([]byte, error) {
	wait := p.timeout
	if wait == syncDefaultWait {
		wait = syncObjectWait
	}
	u := base + "/objects/" + o.Hash.String()
	data, status, err := p.get(ctx, u, o.Size, wait)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrSyncSource, err)
	case status == http.StatusNotFound:
		return nil, fmt.Errorf("%w: object %s is gone from %s", errSourceChanged, o.Hash, base)
	case status != http.StatusOK:
		return nil, fmt.Errorf("%w: GET %s answered %d: %s", ErrSyncSource, u, status, errorText(data))
	case int64(len(data)) != o.Size:
		return nil, fmt.Errorf("%w: object %s from %s has %d bytes, the manifest lists %d", ErrSyncSource, o.Hash, base, len(data), o.Size)
	}
	if err := image.Verify(o.Hash, data); err != nil {
		return nil, fmt.Errorf("%w: object %s from %s: %w", ErrSyncSource, o.Hash, base, err)
	}
	return data, nil
}

// rewriteModel applies synchronizeSecurity and the local name to the
// source's model def, given the database it replaces (cur, nil for a new
// one). The security options mean what they mean for restore
// (restoreSecurity), as Analysis Services documents them for
// synchronize too: skipMembership copies the roles but not their
// members (a role the destination has keeps its members), ignoreSecurity
// copies no role (the destination keeps its own). It returns the new
// model object, nil when the model is unchanged, so that the image stays
// the source's.
func rewriteModel(def *model.Database, name, security string, cur *Version) (notes []string, out []byte, err error) {
	before, err := json.Marshal(def)
	if err != nil {
		return nil, nil, err
	}
	def.Name = name
	notes, err = restoreSecurity(def, cur, security)
	if err != nil {
		return nil, nil, err
	}
	for i, n := range notes {
		notes[i] = "synchronizeSecurity " + strings.TrimPrefix(strings.ReplaceAll(n, "from the backup", "of the source"), "security ")
	}
	out, err = json.Marshal(def)
	if err != nil {
		return nil, nil, err
	}
	if bytes.Equal(before, out) {
		return notes, nil, nil
	}
	// What is committed must be exactly what a restart parses.
	if _, err := model.Parse(out); err != nil {
		return nil, nil, err
	}
	return notes, out, nil
}
