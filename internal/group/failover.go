package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/meridian-olap/meridian/client"
	"github.com/meridian-olap/meridian/internal/blob"
)

// Errors of failover.
var (
	// ErrUnknownServer: the group has no server of that name.
	ErrUnknownServer = errors.New("group: no such server in the group")
	// ErrFailover wraps every failed step of a failover.
	ErrFailover = errors.New("group: failover")
)

// Event is one step of a failover or of watching a group, for logs and
// for `--json` output (one object per line).
type Event struct {
	Time time.Time `json:"time"`
	// Event names the step: watching, primary-unhealthy,
	// primary-recovered, no-candidate, failover-start, promote,
	// promoted, demote, demoted, unreachable, alias-written,
	// alias-unchanged, verified, failover-done, failover-failed.
	Event   string `json:"event"`
	Server  string `json:"server,omitempty"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

// FailoverOptions configure Failover.
type FailoverOptions struct {
	// Timeout bounds each request but the promotion (default 10 s).
	Timeout time.Duration
	// CatchUp bounds the promoted server's catch-up with the store
	// (default 5 minutes).
	CatchUp time.Duration
	// Blob opens the store the alias object is written to; the zero
	// value takes credentials from the environment.
	Blob blob.Options
	// HTTPClient reads the alias back to verify it; nil uses a default
	// client.
	HTTPClient *http.Client
	// UserAgent is sent with every request.
	UserAgent string
	// Logger receives the clients' warnings; nil discards.
	Logger *slog.Logger
	// Events receives each step as it happens; nil discards.
	Events func(Event)
	// Now is the clock of events; nil means time.Now.
	Now func() time.Time
}

func (o FailoverOptions) withDefaults() FailoverOptions {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.CatchUp <= 0 {
		o.CatchUp = 5 * time.Minute
	}
	if o.Events == nil {
		o.Events = func(Event) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o FailoverOptions) emit(event, server, msg string, err error) {
	e := Event{Time: o.Now().UTC(), Event: event, Server: server, Message: msg}
	if err != nil {
		e.Error = err.Error()
	}
	o.Events(e)
}

// FailoverResult is what a failover did.
type FailoverResult struct {
	// Primary is the promoted server.
	Primary Server
	// Epoch is the epoch of its publishing lease (0 if not reported).
	Epoch int64
	// Demoted lists the former primaries that stepped down.
	Demoted []string
	// Unanswered lists the servers that did not answer; a former primary
	// among them is fenced by the lease and must be demoted when it
	// comes back.
	Unanswered []string
	// Warnings are steps that failed without failing the failover (a
	// former primary that answered but refused to step down).
	Warnings []string
	// AliasText is the alias written, "" when none was.
	AliasText string
}

// Failover makes the server named to the group's primary:
//
//  1. it asks every server for its role (GET /status);
//  2. promotes to (POST /admin/promote with takeover): the server takes
//     the publishing lease, which fences the old primary, claims every
//     pointer of the store, catches up with it, then takes writes;
//  3. tells every other server that says it is primary, or is fenced, to
//     step down and follow the store (POST /admin/demote); a server that
//     does not answer is left alone (the lease fences it);
//  4. writes the alias object (when the group file gives aliasObject):
//     the new primary first, then the other servers in file order;
//  5. verifies: to answers as primary and caught up, and the alias (when
//     the group has one) names it first.
//
// Each step is reported to opts.Events. It fails, wrapping ErrFailover,
// when the promotion, the alias write or the verification fails.
func Failover(ctx context.Context, g *Group, to string, opts FailoverOptions) (*FailoverResult, error) {
	opts = opts.withDefaults()
	target := g.Server(to)
	if target == nil {
		return nil, fmt.Errorf("%w: %q (the servers of %s are %s)", ErrUnknownServer, to, g.Name, g.Names())
	}
	res := &FailoverResult{Primary: *target}
	opts.emit("failover-start", target.Name, fmt.Sprintf("failing over group %s to %s (%s)", g.Name, target.Name, target.URL), nil)

	// 1. Roles.
	states := make([]*client.ServerStatus, len(g.Servers))
	errs := make([]error, len(g.Servers))
	var wg sync.WaitGroup
	for i, s := range g.Servers {
		wg.Go(func() { states[i], errs[i] = serverStatus(ctx, s.URL, opts) })
	}
	wg.Wait()
	ti := indexOf(g, target.Name)
	if errs[ti] != nil {
		err := fmt.Errorf("%w: %s does not answer, so it cannot be promoted: %s", ErrFailover, target.Name, describe(errs[ti]))
		opts.emit("failover-failed", target.Name, "the server to promote does not answer", err)
		return res, err
	}
	for i, s := range g.Servers {
		if errs[i] != nil && i != ti {
			res.Unanswered = append(res.Unanswered, s.Name)
			opts.emit("unreachable", s.Name, "does not answer ("+describe(errs[i])+"); if it was the primary, the lease fences it: it publishes nothing and refuses writes when it comes back, and must then be demoted (meridian group watch does)", nil)
		}
	}

	// The alias store must be usable before anything changes: a
	// failover that promotes and then cannot repoint the alias leaves
	// clients on the old primary.
	if !g.AliasObject.IsZero() {
		if err := checkAliasStore(ctx, g.AliasObject, opts.Blob); err != nil {
			err = fmt.Errorf("%w: nothing was changed: %w", ErrFailover, err)
			opts.emit("failover-failed", target.Name, "the alias store cannot be used", err)
			return res, err
		}
	}

	// 2. Promote.
	store := ""
	if states[ti].Store == "" {
		store = g.Store
	} else if states[ti].Store != g.Store {
		opts.emit("promote", target.Name, fmt.Sprintf("note: %s replicates through %s, the group file says %s; it keeps its own", target.Name, states[ti].Store, g.Store), nil)
	}
	opts.emit("promote", target.Name, "promoting: take over the publishing lease, fence the old primary, catch up with the store", nil)
	conn, err := client.Open(ctx, target.URL, client.Options{Timeout: opts.Timeout, UserAgent: opts.UserAgent, Logger: opts.Logger})
	if err != nil {
		err = fmt.Errorf("%w: promote %s: %s", ErrFailover, target.Name, describe(err))
		opts.emit("failover-failed", target.Name, "promotion failed", err)
		return res, err
	}
	st, err := conn.Promote(ctx, client.PromoteOptions{Takeover: true, Store: store, Timeout: opts.CatchUp})
	conn.Close()
	if err != nil {
		err = fmt.Errorf("%w: promote %s: %s", ErrFailover, target.Name, describe(err))
		opts.emit("failover-failed", target.Name, "promotion failed", err)
		return res, err
	}
	if st.Lease != nil {
		res.Epoch = st.Lease.Epoch
	}
	opts.emit("promoted", target.Name, fmt.Sprintf("%s is the primary (role %s, lease epoch %d)", target.Name, st.Role, res.Epoch), nil)

	// 3. Old primaries step down.
	for i, s := range g.Servers {
		if i == ti || states[i] == nil {
			continue
		}
		if r := states[i].Role; r != client.RolePrimary && r != client.RoleFenced {
			continue
		}
		opts.emit("demote", s.Name, fmt.Sprintf("%s was %s: telling it to step down and follow the store", s.Name, states[i].Role), nil)
		if err := demote(ctx, s, states[i], g, opts); err != nil {
			w := fmt.Sprintf("%s did not step down: %s; the lease fences it, demote it later (meridian group watch does)", s.Name, describe(err))
			res.Warnings = append(res.Warnings, w)
			opts.emit("demote", s.Name, w, err)
			continue
		}
		res.Demoted = append(res.Demoted, s.Name)
		opts.emit("demoted", s.Name, s.Name+" follows the store", nil)
	}

	// 4. The alias.
	if !g.AliasObject.IsZero() {
		text := AliasText(g, target.Name, opts.Now())
		if err := WriteAlias(ctx, g.AliasObject, text, opts.Blob); err != nil {
			err = fmt.Errorf("%w: %s is the primary, but the alias was not repointed: %w; clients of %s still go to the old primary until it is", ErrFailover, target.Name, err, g.Alias)
			opts.emit("failover-failed", target.Name, "writing the alias failed", err)
			return res, err
		}
		res.AliasText = string(text)
		opts.emit("alias-written", target.Name, fmt.Sprintf("alias object %s names %s first", g.AliasObject, target.URL), nil)
	}

	// 5. Verify.
	if err := verify(ctx, g, target, opts); err != nil {
		err = fmt.Errorf("%w: %w", ErrFailover, err)
		opts.emit("failover-failed", target.Name, "verification failed", err)
		return res, err
	}
	opts.emit("verified", target.Name, verifiedText(g, target), nil)
	opts.emit("failover-done", target.Name, fmt.Sprintf("%s is the primary of %s", target.Name, g.Name), nil)
	return res, nil
}

func verifiedText(g *Group, target *Server) string {
	if g.Alias != "" {
		return fmt.Sprintf("%s answers as the primary and the alias %s names it first", target.Name, g.Alias)
	}
	return fmt.Sprintf("%s answers as the primary (the group has no alias)", target.Name)
}

// verify checks that target answers as a caught-up primary and that the
// alias names it first.
func verify(ctx context.Context, g *Group, target *Server, opts FailoverOptions) error {
	st, err := serverStatus(ctx, target.URL, opts)
	if err != nil {
		return fmt.Errorf("verify: %s: %s", target.Name, describe(err))
	}
	if st.Role != client.RolePrimary {
		return fmt.Errorf("verify: %s answers as %s, not primary", target.Name, st.Role)
	}
	if st.CatchingUp {
		return fmt.Errorf("verify: %s is still catching up with the store", target.Name)
	}
	if g.Alias == "" {
		return nil
	}
	vctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
		defer hc.CloseIdleConnections()
	}
	a, err := client.ResolveAlias(vctx, hc, g.Alias)
	if err != nil {
		return fmt.Errorf("verify: read the alias back: %w", err)
	}
	if a.Sources[0].URL != target.URL {
		hint := "the group file gives no aliasObject, so failover cannot write it; repoint it by hand"
		if !g.AliasObject.IsZero() {
			hint = fmt.Sprintf("failover wrote %s, but %s serves something else: check that the alias URL serves that object", g.AliasObject, g.Alias)
		}
		return fmt.Errorf("verify: the alias %s names %s first, not %s (%s): %s", g.Alias, a.Sources[0].URL, target.Name, target.URL, hint)
	}
	return nil
}

func demote(ctx context.Context, s Server, st *client.ServerStatus, g *Group, opts FailoverOptions) error {
	conn, err := client.Open(ctx, s.URL, client.Options{Timeout: opts.Timeout, UserAgent: opts.UserAgent, Logger: opts.Logger})
	if err != nil {
		return err
	}
	defer conn.Close()
	follow := ""
	if st.Store == "" {
		follow = g.Store
	}
	_, err = conn.Demote(ctx, client.DemoteOptions{Follow: follow})
	return err
}

func serverStatus(ctx context.Context, url string, opts FailoverOptions) (*client.ServerStatus, error) {
	conn, err := client.Open(ctx, url, client.Options{Timeout: opts.Timeout, UserAgent: opts.UserAgent, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.Status(ctx)
}

func indexOf(g *Group, name string) int {
	for i, s := range g.Servers {
		if strings.EqualFold(s.Name, name) {
			return i
		}
	}
	return -1
}

// AliasText is the alias failover writes for a group whose primary is
// the server named primary: that server first, then the others in file
// order, each with its name and region as a comment.
func AliasText(g *Group, primary string, now time.Time) []byte {
	p := g.Server(primary)
	urls := []string{p.URL}
	notes := []string{note(*p, "primary")}
	for _, s := range g.Servers {
		if s.URL != p.URL {
			urls = append(urls, s.URL)
			notes = append(notes, note(s, ""))
		}
	}
	header := []string{
		fmt.Sprintf("alias of the Meridian group %s: the first server is the primary", g.Name),
		fmt.Sprintf("written by meridian failover at %s", now.UTC().Format(time.RFC3339)),
	}
	return client.FormatAlias(header, urls, notes)
}

func note(s Server, role string) string {
	parts := []string{s.Name}
	if s.Region != "" {
		parts = append(parts, s.Region)
	}
	if role != "" {
		parts = append(parts, role)
	}
	return strings.Join(parts, ", ")
}

// checkAliasStore reads the alias object's attributes, which fails on a
// store that cannot be reached or refuses the credentials.
func checkAliasStore(ctx context.Context, ref ObjectRef, opts blob.Options) error {
	st, err := blob.Open(ctx, ref.Store, opts)
	if err != nil {
		return fmt.Errorf("open the alias store: %w", err)
	}
	defer st.Close()
	if _, err := st.Exists(ctx, ref.Name); err != nil {
		if errors.Is(err, blob.ErrPermission) {
			return fmt.Errorf("read alias %s: %w (check the store's credentials: AZURE_STORAGE_* or AWS variables)", ref, err)
		}
		return fmt.Errorf("read alias %s: %w", ref, err)
	}
	return nil
}

// WriteAlias writes an alias text to its object, creating the container
// or bucket when it does not exist.
func WriteAlias(ctx context.Context, ref ObjectRef, text []byte, opts blob.Options) error {
	opts.Create = true
	st, err := blob.Open(ctx, ref.Store, opts)
	if err != nil {
		return fmt.Errorf("write alias %s: %w", ref, err)
	}
	defer st.Close()
	if err := st.WriteAll(ctx, ref.Name, text, blob.PutOptions{ContentType: "text/plain; charset=utf-8"}); err != nil {
		if errors.Is(err, blob.ErrPermission) {
			return fmt.Errorf("write alias %s: %w (check the store's credentials: AZURE_STORAGE_* or AWS variables)", ref, err)
		}
		return fmt.Errorf("write alias %s: %w", ref, err)
	}
	return nil
}
