// Package group holds server groups: the group file, the state of a
// group (`meridian group status`), commands run on every server of a
// group (deploy, refresh, backup), failover and the watcher that fails
// over by itself. It talks to servers only through package client, over
// the HTTP API, and writes only the alias object, through package blob.
//
// # Group file
//
// A group file is YAML:
//
//	name: sales                              # required: letters, digits, . _ -
//	store: azblob://meridian-ha              # required: the blob store the group replicates through
//	alias: link://aliases.example.com/sales  # optional: the alias clients resolve
//	aliasObject: aliases/sales               # optional: where failover writes the alias
//	servers:                                 # required: one or more
//	  - name: west                           # required, unique (case-insensitive)
//	    url: http://10.0.0.5:8484            # required, http:// or https://, unique
//	    region: westeurope                   # optional
//	    primary: true                        # exactly one server is primary
//	  - name: north
//	    url: http://10.0.1.5:8484
//	    region: northeurope
//
// Unknown keys, keys given twice, YAML anchors and aliases, a second
// document, a missing or second primary, duplicate names or URLs, and URLs
// of the wrong kind are refused with the file and line. The primary the
// file names is where a watcher starts; after a failover the servers'
// own roles (GET /status) say who is primary, and commands follow them.
//
// aliasObject says where `meridian failover` writes the alias text: an
// object name in the group's store (aliases/sales), or the URL of an
// object in another store, whose last path segment is the object's name
// (file:///srv/www/aliases/sales, azblob://web/aliases/sales). Whatever
// serves the alias URL to clients (a public container, a static web
// site, a web server over the directory) must serve that object; failover
// reads the alias back through its URL to verify. aliasObject needs
// alias. A group with an alias and no aliasObject is repointed by hand;
// failover then only verifies and says so when the alias is stale.
//
// The alias text failover writes (see client.ParseAlias for the format)
// names the new primary first, then the other servers in file order, so
// that clients can also read from followers:
//
//	# alias of the Meridian group sales: the first server is the primary
//	# written by meridian failover at 2025-01-01T12:00:00Z
//	http://10.0.1.5:8484    # north, northeurope, primary
//	http://10.0.0.5:8484    # west, westeurope
//
// # In sync
//
// Collect asks every server for its health, role (GET /status) and
// databases (GET /databases: version, image hash, lag). Verdict says the
// group is in sync when, over the servers that answered, every database
// is on every server with the same version and the same image hash, and
// at most one server says it is primary. Equal versions with different
// image hashes are never in sync. Servers that did not answer are noted
// and left out of the verdict.
//
// # Commands on a group
//
// Run sends a command to every server in parallel after reading their
// roles. Deploys and refreshes go to the primary and to standalone
// servers; followers refuse writes, so their rows wait until the follower
// serves the version and image hash the primary ended with. A backup runs
// on every server. Each server gets one row: outcome, time, version.
//
// # Failover and watching
//
// Failover promotes a server (it takes over the publishing lease, which
// fences the old primary, and catches up with the store), tells any
// other primary or fenced server that answers to step down, writes the
// alias and verifies. Watch polls the group and calls Failover when the
// primary stays unhealthy; one failover at a time. Run one watcher per
// group: two watchers could promote two followers in turn (the lease
// still lets only the last one publish).
package group
