package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Roles a server plays in replication, as GET /status and GET /databases
// report them.
const (
	RoleStandalone = "standalone"
	RolePrimary    = "primary"
	RoleFollower   = "follower"
	// RoleFenced is a former primary that lost its publishing lease: it
	// publishes nothing and refuses writes until promoted or demoted.
	RoleFenced = "fenced"
)

// ServerStatus is a server's answer to GET /status: its name, region and
// role in replication, and the state of its publishing or following.
// Fields the server adds later are ignored.
type ServerStatus struct {
	Name   string `json:"name"`
	Region string `json:"region,omitempty"`
	Role   string `json:"role"`
	// Store is the replication store published to or followed.
	Store string `json:"store,omitempty"`
	// Primary is the lease holder as the server last saw it.
	Primary    string `json:"primary,omitempty"`
	Ready      bool   `json:"ready"`
	CatchingUp bool   `json:"catchingUp,omitempty"`
	Fenced     string `json:"fenced,omitempty"`
	Error      string `json:"error,omitempty"`
	Lease      *struct {
		Holder     string    `json:"holder"`
		Epoch      int64     `json:"epoch"`
		TTLSeconds float64   `json:"ttlSeconds"`
		Deadline   time.Time `json:"deadline"`
	} `json:"lease,omitempty"`
	// Publish lists a primary's databases as last published.
	Publish []PublishStatus `json:"publish,omitempty"`
	// Follow is a follower's view of the store.
	Follow *struct {
		IntervalSeconds float64          `json:"intervalSeconds"`
		LastSync        time.Time        `json:"lastSync"`
		Error           string           `json:"error,omitempty"`
		Databases       []FollowDatabase `json:"databases"`
	} `json:"follow,omitempty"`
}

// PublishStatus is one database as its primary last published it.
type PublishStatus struct {
	Database        string    `json:"database"`
	Pending         bool      `json:"pending"`
	PendingSeconds  float64   `json:"pendingSeconds,omitempty"`
	Version         int64     `json:"version"`
	Deleted         bool      `json:"deleted,omitempty"`
	LastPublished   time.Time `json:"lastPublished"`
	UploadedObjects int       `json:"uploadedObjects"`
	UploadedBytes   int64     `json:"uploadedBytes"`
	Error           string    `json:"error,omitempty"`
}

// FollowDatabase is one database as a follower sees it in the store.
type FollowDatabase struct {
	Database        string    `json:"database"`
	StoreVersion    int64     `json:"storeVersion"`
	StoreCommitTime time.Time `json:"storeCommitTime"`
	LocalVersion    int64     `json:"localVersion"`
	LocalCommitTime time.Time `json:"localCommitTime"`
	InSync          bool      `json:"inSync"`
	VersionsBehind  int64     `json:"versionsBehind"`
	LagSeconds      float64   `json:"lagSeconds"`
	LastApplied     time.Time `json:"lastApplied"`
	Fetched         int       `json:"fetched"`
	FetchedBytes    int64     `json:"fetchedBytes"`
	Error           string    `json:"error,omitempty"`
}

// Status reads GET /status of the first healthy server. A server without
// replication support answers 404 (IsNotFound).
func (c *Conn) Status(ctx context.Context) (*ServerStatus, error) {
	var out ServerStatus
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/status", timeout: c.probeTimeout(), decode: func(a *answer) error {
		return json.Unmarshal(a.body, &out)
	}})
	if err != nil {
		return nil, fmt.Errorf("server status: %w", err)
	}
	return &out, nil
}

// PromoteOptions configure Promote.
type PromoteOptions struct {
	// Takeover takes the publishing lease from the server holding it,
	// which is then fenced. Without it, a held lease refuses the
	// promotion (409 LeaseHeld).
	Takeover bool `json:"takeover,omitempty"`
	// Store is the replication store to publish to; "" means the one the
	// server follows.
	Store string `json:"store,omitempty"`
	// Timeout bounds the server's catch-up with the store; zero means the
	// server's default (5 minutes).
	Timeout time.Duration `json:"-"`
}

// Promote makes the primary of the Conn (the first server) the
// replication primary: it takes the publishing lease, fences the old
// primary, catches up with the store and then takes writes. It is a
// write: sent once, never retried. The answer is the server's status once
// it has caught up.
func (c *Conn) Promote(ctx context.Context, opts PromoteOptions) (*ServerStatus, error) {
	body := map[string]any{}
	if opts.Takeover {
		body["takeover"] = true
	}
	if opts.Store != "" {
		body["store"] = opts.Store
	}
	if opts.Timeout > 0 {
		body["timeoutSeconds"] = opts.Timeout.Seconds()
	}
	st, err := c.admin(ctx, "/admin/promote", body, opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("promote %s: %w", c.Primary(), err)
	}
	return st, nil
}

// DemoteOptions configure Demote.
type DemoteOptions struct {
	// Follow is the store to follow; "" means the one the server
	// publishes to.
	Follow string
	// Timeout bounds the wait for a primary's last publishes; zero means
	// the server's default (1 minute).
	Timeout time.Duration
}

// Demote makes the primary of the Conn a follower of the store: a primary
// steps down (publishing what it has not, then releasing the lease), a
// fenced former primary starts following. A write: sent once.
func (c *Conn) Demote(ctx context.Context, opts DemoteOptions) (*ServerStatus, error) {
	body := map[string]any{}
	if opts.Follow != "" {
		body["follow"] = opts.Follow
	}
	if opts.Timeout > 0 {
		body["timeoutSeconds"] = opts.Timeout.Seconds()
	}
	st, err := c.admin(ctx, "/admin/demote", body, opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("demote %s: %w", c.Primary(), err)
	}
	return st, nil
}

func (c *Conn) admin(ctx context.Context, path string, body map[string]any, wait time.Duration) (*ServerStatus, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	// The server may wait for a catch-up: the attempt's timeout must
	// cover the wait it was asked for.
	timeout := c.timeout
	if wait > 0 && timeout > 0 && timeout < wait+10*time.Second {
		timeout = wait + 10*time.Second
	}
	var out ServerStatus
	_, err = c.do(ctx, call{method: http.MethodPost, path: path, body: b, write: true, timeout: timeout, decode: func(a *answer) error {
		return json.Unmarshal(a.body, &out)
	}})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
