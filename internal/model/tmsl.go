package model

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The TMSL commands Meridian runs. Command.Kind is one of these.
const (
	CommandCreateOrReplace = "createOrReplace"
	CommandCreate          = "create"
	CommandAlter           = "alter"
	CommandDelete          = "delete"
	CommandRefresh         = "refresh"
	CommandSequence        = "sequence"
	CommandBackup          = "backup"
	CommandRestore         = "restore"
	CommandSynchronize     = "synchronize"
)

var commandKinds = []string{CommandCreateOrReplace, CommandCreate, CommandAlter, CommandDelete,
	CommandRefresh, CommandSequence, CommandBackup, CommandRestore, CommandSynchronize}

// unsupportedCommands are TMSL commands that Analysis Services has and
// Meridian does not, so that a script using one gets a precise answer.
var unsupportedCommands = []string{"attach", "detach", "mergePartitions", "updateCulture"}

// Command is one parsed TMSL command. Exactly one of the pointers is set,
// according to Kind: Object for createOrReplace, create, alter and delete.
type Command struct {
	Kind        string
	Object      *ObjectCommand
	Refresh     *Refresh
	Sequence    *Sequence
	Backup      *Backup
	Restore     *Restore
	Synchronize *Synchronize
	// Raw is the command as sent, for logs and audit.
	Raw json.RawMessage
}

// ObjectPath names an object by the names of it and its parents, as the
// "object" and "parentObject" members of TMSL commands and the entries of
// refresh objects do: {"database":"Sales","table":"Date"}.
type ObjectPath struct {
	Database     string
	DataSource   string
	Table        string
	Partition    string
	Column       string
	Measure      string
	Hierarchy    string
	Role         string
	Relationship string
	Expression   string
	Perspective  string
	Culture      string
}

// pathKeys are the members of an object path, most specific last within
// each branch; fields returns them bound to the fields.
var pathKeys = []string{"database", "dataSource", "table", "partition", "column", "measure",
	"hierarchy", "role", "relationship", "expression", "perspective", "culture"}

func (p *ObjectPath) fields() []*string {
	return []*string{&p.Database, &p.DataSource, &p.Table, &p.Partition, &p.Column, &p.Measure,
		&p.Hierarchy, &p.Role, &p.Relationship, &p.Expression, &p.Perspective, &p.Culture}
}

// parentOf gives the type of object each object type lives in.
var parentOf = map[string]string{
	"database":     "",
	"model":        "database",
	"dataSource":   "database",
	"table":        "database",
	"role":         "database",
	"relationship": "database",
	"expression":   "database",
	"perspective":  "database",
	"culture":      "database",
	"partition":    "table",
	"column":       "table",
	"measure":      "table",
	"hierarchy":    "table",
}

// Type returns the type of the object the path names: the most specific
// member given ("partition" for {database, table, partition}), or "" for
// an empty path.
func (p ObjectPath) Type() string {
	levels := [][]struct {
		typ, name string
	}{
		{{"partition", p.Partition}, {"column", p.Column}, {"measure", p.Measure}, {"hierarchy", p.Hierarchy}},
		{{"dataSource", p.DataSource}, {"table", p.Table}, {"role", p.Role}, {"relationship", p.Relationship},
			{"expression", p.Expression}, {"perspective", p.Perspective}, {"culture", p.Culture}},
		{{"database", p.Database}},
	}
	for _, level := range levels {
		for _, o := range level {
			if o.name != "" {
				return o.typ
			}
		}
	}
	return ""
}

// String writes the path as JSON, for messages.
func (p ObjectPath) String() string {
	var b strings.Builder
	e := encoder{}
	b.WriteByte('{')
	n := 0
	for i, f := range p.fields() {
		if *f == "" {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		e.buf.Reset()
		e.writeString(pathKeys[i])
		e.buf.WriteByte(':')
		e.writeString(*f)
		b.Write(e.buf.Bytes())
	}
	b.WriteByte('}')
	return b.String()
}

// ObjectCommand is createOrReplace, create, alter or delete of one object.
type ObjectCommand struct {
	// Path is the "object" member, or for create the "parentObject" member
	// (empty when a database is created).
	Path ObjectPath
	// Type is the member holding the definition: "database", "table",
	// "partition", ... Empty for delete.
	Type string
	// Definition is the definition exactly as sent, for the catalog to keep.
	Definition json.RawMessage
	// Value is the parsed definition: *Database, *Model, *DataSource,
	// *Table, *Partition, *Column, *Measure, *Hierarchy, *Role,
	// *Relationship, *NamedExpression, *Perspective or *Culture.
	Value any
	// Database is Value when Type is "database".
	Database *Database
}

// RefreshType is the type of a refresh.
type RefreshType string

// The refresh types.
const (
	RefreshFull        RefreshType = "full"
	RefreshClearValues RefreshType = "clearValues"
	RefreshCalculate   RefreshType = "calculate"
	RefreshDataOnly    RefreshType = "dataOnly"
	RefreshAutomatic   RefreshType = "automatic"
	RefreshAdd         RefreshType = "add"
	RefreshDefragment  RefreshType = "defragment"
)

var refreshTypes = []RefreshType{RefreshFull, RefreshClearValues, RefreshCalculate, RefreshDataOnly,
	RefreshAutomatic, RefreshAdd, RefreshDefragment}

// Refresh processes databases, tables or partitions. Type is automatic
// when absent.
type Refresh struct {
	Type    RefreshType
	Objects []ObjectPath
	// ApplyRefreshPolicy is true when absent.
	ApplyRefreshPolicy bool
	EffectiveDate      string
	// Overrides are kept as sent; Meridian does not apply them yet.
	Overrides json.RawMessage
}

// Sequence runs operations in order, in one transaction. MaxParallelism
// bounds the parallelism of refreshes; 0 means no bound.
type Sequence struct {
	MaxParallelism int
	Operations     []*Command
}

// Backup writes a database to a backup file. AllowOverwrite is false and
// ApplyCompression true when absent, as in Analysis Services.
type Backup struct {
	Database         string
	File             string
	Password         string
	AllowOverwrite   bool
	ApplyCompression bool
}

// The security options of restore and synchronize.
const (
	SecurityCopyAll        = "copyAll"
	SecuritySkipMembership = "skipMembership"
	SecurityIgnoreSecurity = "ignoreSecurity"
)

var securityOptions = []string{SecurityCopyAll, SecuritySkipMembership, SecurityIgnoreSecurity}

// Restore reads a database from a backup file. AllowOverwrite is false,
// Security copyAll and ReadWriteMode readWrite when absent.
type Restore struct {
	Database          string
	File              string
	Password          string
	AllowOverwrite    bool
	Security          string
	ReadWriteMode     string
	DBName            string
	DBStorageLocation string
	// Locations and StorageLocation are multidimensional options, accepted
	// and kept as sent.
	Locations       json.RawMessage
	StorageLocation json.RawMessage
}

// Synchronize copies a database from a source server. Source is the
// source's connection string. SynchronizeSecurity is skipMembership and
// ApplyCompression true when absent, as in Analysis Services.
type Synchronize struct {
	Database            string
	Source              string
	SynchronizeSecurity string
	ApplyCompression    bool
}

// ParseCommand reads one TMSL command: an object with exactly one member
// naming the command. Unknown commands and members, missing required
// members and values of the wrong type are errors naming the JSON path.
func ParseCommand(data []byte) (*Command, error) {
	doc, err := prepare(data)
	if err != nil {
		return nil, err
	}
	d := &decoder{doc: doc}
	return parseCommand(d, trimSpace(doc), true)
}

func parseCommand(d *decoder, v []byte, top bool) (*Command, error) {
	if kindOf(v) != kindObject {
		return nil, d.mismatch(v, "a TMSL command object")
	}
	ms, err := splitObject(v)
	if err != nil {
		return nil, d.errorf(v, "%v", err)
	}
	if len(ms) != 1 {
		keys := make([]string, len(ms))
		for i, m := range ms {
			keys[i] = fmt.Sprintf("%q", m.key)
		}
		if len(ms) == 0 {
			return nil, d.errorf(v, "empty command: expected one of %s", strings.Join(commandKinds, ", "))
		}
		return nil, d.errorf(v, "a command object has exactly one member, the command; found %s", strings.Join(keys, ", "))
	}
	m := ms[0]
	cmd := &Command{Kind: m.key, Raw: json.RawMessage(trimSpace(v))}
	d.pushKey(m.key)
	defer d.pop()
	c, err := newCmdObject(d, m.value)
	if err != nil {
		return nil, err
	}
	switch m.key {
	case CommandCreateOrReplace, CommandAlter:
		cmd.Object, err = parseObjectCommand(d, c, "object", true)
	case CommandCreate:
		cmd.Object, err = parseObjectCommand(d, c, "parentObject", true)
	case CommandDelete:
		cmd.Object, err = parseObjectCommand(d, c, "object", false)
	case CommandRefresh:
		cmd.Refresh, err = parseRefresh(d, c)
	case CommandSequence:
		if !top {
			return nil, d.errorf(m.value, "a sequence cannot contain another sequence")
		}
		cmd.Sequence, err = parseSequence(d, c)
	case CommandBackup:
		cmd.Backup, err = parseBackup(c)
	case CommandRestore:
		cmd.Restore, err = parseRestore(c)
	case CommandSynchronize:
		cmd.Synchronize, err = parseSynchronize(c)
	default:
		for _, u := range unsupportedCommands {
			if strings.EqualFold(u, m.key) {
				return nil, d.errorf(v, "the TMSL command %q is not supported; Meridian runs %s", m.key, strings.Join(commandKinds, ", "))
			}
		}
		for _, k := range commandKinds {
			if strings.EqualFold(k, m.key) {
				return nil, d.errorf(v, "unknown TMSL command %q; did you mean %q? (Meridian matches command names exactly)", m.key, k)
			}
		}
		return nil, d.errorf(v, "unknown TMSL command %q; expected one of %s", m.key, strings.Join(commandKinds, ", "))
	}
	if err != nil {
		return nil, err
	}
	return cmd, nil
}

// cmdObject reads the members of a command strictly: each member is taken
// once, and members nobody took are reported as unknown.
type cmdObject struct {
	d    *decoder
	v    []byte
	ms   []member
	used []bool
}

func newCmdObject(d *decoder, v []byte) (*cmdObject, error) {
	if kindOf(v) != kindObject {
		return nil, d.mismatch(v, "an object")
	}
	ms, err := splitObject(v)
	if err != nil {
		return nil, d.errorf(v, "%v", err)
	}
	if i := duplicate(ms); i >= 0 {
		d.pushKey(ms[i].key)
		defer d.pop()
		return nil, d.errorf(ms[i].value, "duplicate member %q", ms[i].key)
	}
	return &cmdObject{d: d, v: v, ms: ms, used: make([]bool, len(ms))}, nil
}

// take returns the value of the member key, marking it used.
func (c *cmdObject) take(key string) ([]byte, bool) {
	for i, m := range c.ms {
		if m.key == key {
			c.used[i] = true
			return m.value, true
		}
	}
	return nil, false
}

// str reads a string member; a required one must be present and not empty.
func (c *cmdObject) str(key string, required bool) (string, error) {
	v, ok := c.take(key)
	if !ok {
		if required {
			return "", c.d.errorf(c.v, "missing required member %q", key)
		}
		return "", nil
	}
	c.d.pushKey(key)
	defer c.d.pop()
	s, err := decodeString(c.d, v)
	if err != nil {
		return "", err
	}
	if s == nil || *s == "" {
		if required {
			return "", c.d.errorf(v, "must not be empty")
		}
		return "", nil
	}
	return *s, nil
}

// boolean reads a boolean member. The strings "true" and "false" are
// accepted too: the TMSL reference's own restore example uses them.
func (c *cmdObject) boolean(key string, def bool) (bool, error) {
	v, ok := c.take(key)
	if !ok {
		return def, nil
	}
	c.d.pushKey(key)
	defer c.d.pop()
	if kindOf(v) == kindString {
		s, _ := unquote(trimSpace(v))
		switch strings.ToLower(s) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	b, err := decodeBool(c.d, v)
	if err != nil || b == nil {
		return def, err
	}
	return *b, nil
}

// choice reads a string member that must be one of values (matched
// without regard to case, returned in the listed spelling).
func (c *cmdObject) choice(key, def string, values []string) (string, error) {
	v, _ := c.take(key)
	s, err := c.strValue(key, v)
	if err != nil || s == "" {
		return def, err
	}
	for _, x := range values {
		if strings.EqualFold(s, x) {
			return x, nil
		}
	}
	c.d.pushKey(key)
	defer c.d.pop()
	return "", c.d.errorf(v, "unknown value %q; expected one of %s", s, strings.Join(values, ", "))
}

func (c *cmdObject) strValue(key string, v []byte) (string, error) {
	if v == nil {
		return "", nil
	}
	c.d.pushKey(key)
	defer c.d.pop()
	s, err := decodeString(c.d, v)
	if err != nil || s == nil {
		return "", err
	}
	return *s, nil
}

// raw returns a member's JSON as sent.
func (c *cmdObject) raw(key string) json.RawMessage {
	v, ok := c.take(key)
	if !ok {
		return nil
	}
	return json.RawMessage(trimSpace(v))
}

// done reports the first member nobody took.
func (c *cmdObject) done(known ...string) error {
	for i, m := range c.ms {
		if !c.used[i] {
			c.d.pushKey(m.key)
			defer c.d.pop()
			return c.d.errorf(m.value, "unknown member %q; expected %s", m.key, strings.Join(known, ", "))
		}
	}
	return nil
}

// parsePath reads an object path.
func parsePath(d *decoder, v []byte) (ObjectPath, error) {
	var p ObjectPath
	if kindOf(v) != kindObject {
		return p, d.mismatch(v, "an object path such as {\"database\":\"Sales\",\"table\":\"Date\"}")
	}
	ms, err := splitObject(v)
	if err != nil {
		return p, d.errorf(v, "%v", err)
	}
	fs := p.fields()
	for _, m := range ms {
		i := -1
		for j, k := range pathKeys {
			if k == m.key {
				i = j
			}
		}
		d.pushKey(m.key)
		if i < 0 {
			err := d.errorf(m.value, "unknown object type %q in object path; expected %s", m.key, strings.Join(pathKeys, ", "))
			d.pop()
			return p, err
		}
		if *fs[i] != "" {
			err := d.errorf(m.value, "duplicate member %q", m.key)
			d.pop()
			return p, err
		}
		s, err := decodeString(d, m.value)
		if err == nil && (s == nil || *s == "") {
			err = d.errorf(m.value, "the %s name must not be empty", m.key)
		}
		d.pop()
		if err != nil {
			return p, err
		}
		*fs[i] = *s
	}
	if p.Database == "" {
		return p, d.errorf(v, "the object path names no database")
	}
	if p.Table == "" {
		for _, k := range []struct {
			name string
			val  string
		}{{"partition", p.Partition}, {"column", p.Column}, {"measure", p.Measure}, {"hierarchy", p.Hierarchy}} {
			if k.val != "" {
				return p, d.errorf(v, "the object path names a %s but no table", k.name)
			}
		}
	}
	// Only one branch below the database may be named.
	n := 0
	for _, s := range []string{p.DataSource, p.Table, p.Role, p.Relationship, p.Expression, p.Perspective, p.Culture} {
		if s != "" {
			n++
		}
	}
	m := 0
	for _, s := range []string{p.Partition, p.Column, p.Measure, p.Hierarchy} {
		if s != "" {
			m++
		}
	}
	if n > 1 || m > 1 {
		return p, d.errorf(v, "the object path names more than one object: %s", p.String())
	}
	return p, nil
}

// definitions maps the member holding a definition to a constructor of its
// Go type.
var definitions = map[string]func() object{
	"database":     func() object { return new(Database) },
	"model":        func() object { return new(Model) },
	"dataSource":   func() object { return new(DataSource) },
	"table":        func() object { return new(Table) },
	"partition":    func() object { return new(Partition) },
	"column":       func() object { return new(Column) },
	"measure":      func() object { return new(Measure) },
	"hierarchy":    func() object { return new(Hierarchy) },
	"role":         func() object { return new(Role) },
	"relationship": func() object { return new(Relationship) },
	"expression":   func() object { return new(NamedExpression) },
	"perspective":  func() object { return new(Perspective) },
	"culture":      func() object { return new(Culture) },
}

var definitionKeys = []string{"database", "model", "dataSource", "table", "partition", "column",
	"measure", "hierarchy", "role", "relationship", "expression", "perspective", "culture"}

// parseObjectCommand reads createOrReplace, create, alter (pathKey
// "object", or "parentObject" for create) or delete (no definition).
func parseObjectCommand(d *decoder, c *cmdObject, pathKey string, withDef bool) (*ObjectCommand, error) {
	oc := &ObjectCommand{}
	pv, hasPath := c.take(pathKey)
	if hasPath {
		d.pushKey(pathKey)
		p, err := parsePath(d, pv)
		d.pop()
		if err != nil {
			return nil, err
		}
		oc.Path = p
	}
	if !withDef {
		if !hasPath {
			return nil, d.errorf(c.v, "missing required member %q", pathKey)
		}
		return oc, c.done(pathKey)
	}

	var defKey string
	var defVal []byte
	for i, m := range c.ms {
		if _, ok := definitions[m.key]; !ok {
			continue
		}
		if defKey != "" {
			d.pushKey(m.key)
			defer d.pop()
			return nil, d.errorf(m.value, "a command defines one object; found %q and %q", defKey, m.key)
		}
		defKey, defVal = m.key, m.value
		c.used[i] = true
	}
	if err := c.done(append([]string{pathKey}, definitionKeys...)...); err != nil {
		return nil, err
	}
	if defKey == "" {
		return nil, d.errorf(c.v, "missing the object definition: a member named %s", strings.Join(definitionKeys, ", "))
	}

	// The path names the object itself, or for create its parent; create
	// of a database has no parent.
	want := defKey
	if pathKey == "parentObject" {
		want = parentOf[defKey]
	} else if defKey == "model" {
		want = "database"
	}
	switch {
	case !hasPath && want != "":
		return nil, d.errorf(c.v, "missing required member %q naming the %s", pathKey, want)
	case hasPath && want == "":
		d.pushKey(pathKey)
		defer d.pop()
		return nil, d.errorf(pv, "a database is created without a %s", pathKey)
	case hasPath && oc.Path.Type() != want:
		d.pushKey(pathKey)
		defer d.pop()
		return nil, d.errorf(pv, "the %s must name a %s for a %q definition; it names %s", pathKey, want, defKey, oc.Path.String())
	}

	d.pushKey(defKey)
	defer d.pop()
	o := definitions[defKey]()
	if err := decodeObject(d, defVal, o); err != nil {
		return nil, err
	}
	oc.Type = defKey
	oc.Definition = json.RawMessage(trimSpace(defVal))
	oc.Value = o
	if db, ok := o.(*Database); ok {
		oc.Database = db
	}
	return oc, nil
}

func parseRefresh(d *decoder, c *cmdObject) (*Refresh, error) {
	r := &Refresh{}
	types := make([]string, len(refreshTypes))
	for i, t := range refreshTypes {
		types[i] = string(t)
	}
	t, err := c.choice("type", string(RefreshAutomatic), types)
	if err != nil {
		return nil, err
	}
	r.Type = RefreshType(t)
	if r.ApplyRefreshPolicy, err = c.boolean("applyRefreshPolicy", true); err != nil {
		return nil, err
	}
	if r.EffectiveDate, err = c.str("effectiveDate", false); err != nil {
		return nil, err
	}
	r.Overrides = c.raw("overrides")
	ov, ok := c.take("objects")
	if !ok {
		return nil, d.errorf(c.v, "missing required member \"objects\": the databases, tables or partitions to refresh")
	}
	if err := c.done("type", "objects", "applyRefreshPolicy", "effectiveDate", "overrides"); err != nil {
		return nil, err
	}
	d.pushKey("objects")
	defer d.pop()
	if kindOf(ov) != kindArray {
		return nil, d.mismatch(ov, "an array of object paths")
	}
	elems, err := splitArray(ov)
	if err != nil {
		return nil, d.errorf(ov, "%v", err)
	}
	if len(elems) == 0 {
		return nil, d.errorf(ov, "no objects to refresh")
	}
	for i, el := range elems {
		d.pushIndex(i, "")
		p, err := parsePath(d, el)
		if err == nil {
			switch typ := p.Type(); {
			case typ != "database" && typ != "table" && typ != "partition":
				err = d.errorf(el, "a refresh applies to a database, table or partition, not a %s", typ)
			case r.Type == RefreshAdd && typ != "partition":
				err = d.errorf(el, "a refresh of type add applies to partitions only")
			case r.Type == RefreshDefragment && typ == "partition":
				err = d.errorf(el, "a refresh of type defragment applies to databases and tables only")
			}
		}
		d.pop()
		if err != nil {
			return nil, err
		}
		r.Objects = append(r.Objects, p)
	}
	return r, nil
}

func parseSequence(d *decoder, c *cmdObject) (*Sequence, error) {
	s := &Sequence{}
	if v, ok := c.take("maxParallelism"); ok {
		d.pushKey("maxParallelism")
		n, err := decodeInt(d, v)
		if err == nil && n != nil && *n < 1 {
			err = d.errorf(v, "must be a positive integer, got %d", *n)
		}
		d.pop()
		if err != nil {
			return nil, err
		}
		if n != nil {
			s.MaxParallelism = *n
		}
	}
	ov, ok := c.take("operations")
	if !ok {
		return nil, d.errorf(c.v, "missing required member \"operations\"")
	}
	if err := c.done("maxParallelism", "operations"); err != nil {
		return nil, err
	}
	d.pushKey("operations")
	defer d.pop()
	if kindOf(ov) != kindArray {
		return nil, d.mismatch(ov, "an array of commands")
	}
	elems, err := splitArray(ov)
	if err != nil {
		return nil, d.errorf(ov, "%v", err)
	}
	if len(elems) == 0 {
		return nil, d.errorf(ov, "no operations")
	}
	for i, el := range elems {
		d.pushIndex(i, "")
		op, err := parseCommand(d, trimSpace(el), false)
		d.pop()
		if err != nil {
			return nil, err
		}
		s.Operations = append(s.Operations, op)
	}
	return s, nil
}

func parseBackup(c *cmdObject) (*Backup, error) {
	b := &Backup{}
	var err error
	if b.Database, err = c.str("database", true); err != nil {
		return nil, err
	}
	if b.File, err = c.str("file", true); err != nil {
		return nil, err
	}
	if b.Password, err = c.str("password", false); err != nil {
		return nil, err
	}
	if b.AllowOverwrite, err = c.boolean("allowOverwrite", false); err != nil {
		return nil, err
	}
	if b.ApplyCompression, err = c.boolean("applyCompression", true); err != nil {
		return nil, err
	}
	return b, c.done("database", "file", "password", "allowOverwrite", "applyCompression")
}

func parseRestore(c *cmdObject) (*Restore, error) {
	r := &Restore{}
	var err error
	if r.Database, err = c.str("database", true); err != nil {
		return nil, err
	}
	if r.File, err = c.str("file", true); err != nil {
		return nil, err
	}
	if r.Password, err = c.str("password", false); err != nil {
		return nil, err
	}
	if r.AllowOverwrite, err = c.boolean("allowOverwrite", false); err != nil {
		return nil, err
	}
	if r.Security, err = c.choice("security", SecurityCopyAll, securityOptions); err != nil {
		return nil, err
	}
	if r.ReadWriteMode, err = c.choice("readWriteMode", "readWrite", []string{"readWrite", "readOnly", "readOnlyExclusive"}); err != nil {
		return nil, err
	}
	if r.DBName, err = c.str("dbName", false); err != nil {
		return nil, err
	}
	if r.DBStorageLocation, err = c.str("dbStorageLocation", false); err != nil {
		return nil, err
	}
	r.Locations = c.raw("locations")
	r.StorageLocation = c.raw("storageLocation")
	return r, c.done("database", "file", "password", "allowOverwrite", "security", "readWriteMode",
		"dbName", "dbStorageLocation", "locations", "storageLocation")
}

func parseSynchronize(c *cmdObject) (*Synchronize, error) {
	s := &Synchronize{}
	var err error
	if s.Database, err = c.str("database", true); err != nil {
		return nil, err
	}
	if s.Source, err = c.str("source", true); err != nil {
		return nil, err
	}
	if s.SynchronizeSecurity, err = c.choice("synchronizeSecurity", SecuritySkipMembership, securityOptions); err != nil {
		return nil, err
	}
	if s.ApplyCompression, err = c.boolean("applyCompression", true); err != nil {
		return nil, err
	}
	return s, c.done("database", "source", "synchronizeSecurity", "applyCompression")
}
