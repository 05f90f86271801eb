package model

import (
	"encoding/json"
	"strings"

	"github.com/meridian-olap/meridian/internal/value"
)

// Expr is a TMSL expression (DAX, M or SQL). TMSL accepts it as a string or
// as an array of lines; either way Expr holds the text with the lines
// joined by "\n", and the original form is kept for writing back.
type Expr string

// Text returns the expression's text.
func (e Expr) Text() string { return string(e) }

// Lines returns the expression split into lines.
func (e Expr) Lines() []string { return strings.Split(string(e), "\n") }

// IsEmpty reports whether the expression has no text but white space.
func (e Expr) IsEmpty() bool { return strings.TrimSpace(string(e)) == "" }

// Database is a tabular database: the payload of createOrReplace and the
// content of a .bim file.
type Database struct {
	Name               string
	ID                 string
	Description        Expr
	CompatibilityLevel int
	Model              Model

	raw raw
}

func (x *Database) rawObject() *raw { return &x.raw }
func (x *Database) props() []prop {
	return []prop{
		str("name", &x.Name),
		str("id", &x.ID),
		text("description", &x.Description),
		integer("compatibilityLevel", &x.CompatibilityLevel, 0),
		nested("model", &x.Model),
	}
}

// Model is the one model of a database.
type Model struct {
	Name                       string
	Description                Expr
	Culture                    string
	Collation                  string
	DefaultMode                string
	DiscourageImplicitMeasures bool
	Tables                     []*Table
	Relationships              []*Relationship
	Roles                      []*Role
	Expressions                []*NamedExpression
	DataSources                []*DataSource
	Perspectives               []*Perspective
	Cultures                   []*Culture
	Annotations                []*Annotation

	raw raw
}

func (x *Model) rawObject() *raw { return &x.raw }
func (x *Model) props() []prop {
	return []prop{
		str("name", &x.Name),
		text("description", &x.Description),
		str("culture", &x.Culture),
		str("collation", &x.Collation),
		str("defaultMode", &x.DefaultMode),
		boolean("discourageImplicitMeasures", &x.DiscourageImplicitMeasures, false),
		list("tables", &x.Tables),
		list("relationships", &x.Relationships),
		list("roles", &x.Roles),
		list("expressions", &x.Expressions),
		list("dataSources", &x.DataSources),
		list("perspectives", &x.Perspectives),
		list("cultures", &x.Cultures),
		list("annotations", &x.Annotations),
	}
}

// Table is a table of the model: imported, calculated (one partition of
// source type calculated) or a calculation group (CalculationGroup set).
type Table struct {
	Name             string
	Description      Expr
	DataCategory     string
	IsHidden         bool
	Columns          []*Column
	Measures         []*Measure
	Partitions       []*Partition
	Hierarchies      []*Hierarchy
	CalculationGroup *CalculationGroup
	Annotations      []*Annotation

	raw raw
}

func (x *Table) rawObject() *raw { return &x.raw }
func (x *Table) props() []prop {
	return []prop{
		str("name", &x.Name),
		text("description", &x.Description),
		str("dataCategory", &x.DataCategory),
		boolean("isHidden", &x.IsHidden, false),
		list("columns", &x.Columns),
		list("measures", &x.Measures),
		list("partitions", &x.Partitions),
		list("hierarchies", &x.Hierarchies),
		optional("calculationGroup", &x.CalculationGroup),
		list("annotations", &x.Annotations),
	}
}

// IsCalculated reports whether the table is a calculated table: its data
// comes from a DAX expression in a partition of source type calculated.
func (x *Table) IsCalculated() bool {
	for _, p := range x.Partitions {
		if p != nil && p.Source.Type == SourceCalculated {
			return true
		}
	}
	return false
}

// ColumnType is the type of a column.
type ColumnType string

// The column types. An empty ColumnType means ColumnData.
const (
	ColumnData                  ColumnType = "data"
	ColumnCalculated            ColumnType = "calculated"
	ColumnCalculatedTableColumn ColumnType = "calculatedTableColumn"
	ColumnRowNumber             ColumnType = "rowNumber"
)

var columnTypes = []ColumnType{ColumnData, ColumnCalculated, ColumnCalculatedTableColumn, ColumnRowNumber}

// Column is a column of a table. DataType is the engine's type;
// TMSLDataType keeps the dataType as written ("automatic", "unknown" and
// "variant" are all value.Variant; "binary" is value.String). When DataType
// is changed in Go, the new type is written back.
type Column struct {
	Name               string
	Type               ColumnType
	DataType           value.Type
	TMSLDataType       string
	SourceColumn       string
	Expression         Expr
	Description        Expr
	FormatString       string
	DisplayFolder      string
	IsHidden           bool
	SortByColumn       string
	DataCategory       string
	SummarizeBy        string
	IsKey              bool
	IsUnique           bool
	IsNameInferred     bool
	IsDataTypeInferred bool
	SourceProviderType string
	Annotations        []*Annotation

	raw raw
}

func (x *Column) rawObject() *raw { return &x.raw }
func (x *Column) props() []prop {
	return []prop{
		str("name", &x.Name),
		enum("type", &x.Type, ColumnData, columnTypes),
		&dataTypeProp{t: &x.DataType, name: &x.TMSLDataType},
		str("sourceColumn", &x.SourceColumn),
		text("expression", &x.Expression),
		text("description", &x.Description),
		str("formatString", &x.FormatString),
		str("displayFolder", &x.DisplayFolder),
		boolean("isHidden", &x.IsHidden, false),
		str("sortByColumn", &x.SortByColumn),
		str("dataCategory", &x.DataCategory),
		str("summarizeBy", &x.SummarizeBy),
		boolean("isKey", &x.IsKey, false),
		boolean("isUnique", &x.IsUnique, false),
		boolean("isNameInferred", &x.IsNameInferred, false),
		boolean("isDataTypeInferred", &x.IsDataTypeInferred, false),
		str("sourceProviderType", &x.SourceProviderType),
		list("annotations", &x.Annotations),
	}
}

// Kind returns the column's type, ColumnData when it is empty.
func (x *Column) Kind() ColumnType {
	if x.Type == "" {
		return ColumnData
	}
	return x.Type
}

// Measure is a measure of a table. Measure names are unique across the
// model.
type Measure struct {
	Name                   string
	Expression             Expr
	Description            Expr
	FormatString           string
	FormatStringDefinition *FormatStringDefinition
	KPI                    *KPI
	DisplayFolder          string
	IsHidden               bool
	Annotations            []*Annotation

	raw raw
}

func (x *Measure) rawObject() *raw { return &x.raw }
func (x *Measure) props() []prop {
	return []prop{
		str("name", &x.Name),
		text("expression", &x.Expression),
		text("description", &x.Description),
		str("formatString", &x.FormatString),
		optional("formatStringDefinition", &x.FormatStringDefinition),
		optional("kpi", &x.KPI),
		str("displayFolder", &x.DisplayFolder),
		boolean("isHidden", &x.IsHidden, false),
		list("annotations", &x.Annotations),
	}
}

// FormatStringDefinition is a DAX expression giving a dynamic format
// string (measures and calculation items).
type FormatStringDefinition struct {
	Expression Expr

	raw raw
}

func (x *FormatStringDefinition) rawObject() *raw { return &x.raw }
func (x *FormatStringDefinition) props() []prop {
	return []prop{text("expression", &x.Expression)}
}

// KPI is the key performance indicator of a measure.
type KPI struct {
	TargetExpression   Expr
	TargetFormatString string
	StatusExpression   Expr
	StatusGraphic      string
	TrendExpression    Expr
	TrendGraphic       string
	Annotations        []*Annotation

	raw raw
}

func (x *KPI) rawObject() *raw { return &x.raw }
func (x *KPI) props() []prop {
	return []prop{
		text("targetExpression", &x.TargetExpression),
		str("targetFormatString", &x.TargetFormatString),
		text("statusExpression", &x.StatusExpression),
		str("statusGraphic", &x.StatusGraphic),
		text("trendExpression", &x.TrendExpression),
		str("trendGraphic", &x.TrendGraphic),
		list("annotations", &x.Annotations),
	}
}

// Partition is a partition of a table.
type Partition struct {
	Name        string
	Description Expr
	Mode        string // import, directQuery, dual, default; empty when absent
	DataView    string
	Source      PartitionSource
	Annotations []*Annotation

	raw raw
}

func (x *Partition) rawObject() *raw { return &x.raw }
func (x *Partition) props() []prop {
	return []prop{
		str("name", &x.Name),
		text("description", &x.Description),
		str("mode", &x.Mode),
		str("dataView", &x.DataView),
		nested("source", &x.Source),
		list("annotations", &x.Annotations),
	}
}

// SourceType is the type of a partition source.
type SourceType string

// The partition source types of TMSL. An empty SourceType means
// SourceQuery, as in TMSL.
const (
	SourceQuery            SourceType = "query"
	SourceCalculated       SourceType = "calculated"
	SourceNone             SourceType = "none"
	SourceM                SourceType = "m"
	SourceEntity           SourceType = "entity"
	SourcePolicyRange      SourceType = "policyRange"
	SourceCalculationGroup SourceType = "calculationGroup"
	SourceInferred         SourceType = "inferred"
	SourceParquet          SourceType = "parquet"
)

var sourceTypes = []SourceType{SourceQuery, SourceCalculated, SourceNone, SourceM, SourceEntity,
	SourcePolicyRange, SourceCalculationGroup, SourceInferred, SourceParquet}

// PartitionSource says where a partition's data comes from: Expression for
// m and calculated sources, Query and DataSource for query sources.
type PartitionSource struct {
	Type       SourceType
	Expression Expr
	Query      Expr
	DataSource string

	raw raw
}

func (x *PartitionSource) rawObject() *raw { return &x.raw }
func (x *PartitionSource) props() []prop {
	return []prop{
		enum("type", &x.Type, SourceQuery, sourceTypes),
		text("expression", &x.Expression),
		text("query", &x.Query),
		str("dataSource", &x.DataSource),
	}
}

// Kind returns the source's type, SourceQuery when it is empty.
func (x *PartitionSource) Kind() SourceType {
	if x.Type == "" {
		return SourceQuery
	}
	return x.Type
}

// Hierarchy is a user hierarchy of a table.
type Hierarchy struct {
	Name          string
	Description   Expr
	DisplayFolder string
	IsHidden      bool
	Levels        []*Level
	Annotations   []*Annotation

	raw raw
}

func (x *Hierarchy) rawObject() *raw { return &x.raw }
func (x *Hierarchy) props() []prop {
	return []prop{
		str("name", &x.Name),
		text("description", &x.Description),
		str("displayFolder", &x.DisplayFolder),
		boolean("isHidden", &x.IsHidden, false),
		list("levels", &x.Levels),
		list("annotations", &x.Annotations),
	}
}

// Level is a level of a hierarchy, bound to a column of the same table.
type Level struct {
	Name        string
	Ordinal     int
	Column      string
	Annotations []*Annotation

	raw raw
}

func (x *Level) rawObject() *raw { return &x.raw }
func (x *Level) props() []prop {
	return []prop{
		str("name", &x.Name),
		integer("ordinal", &x.Ordinal, 0),
		str("column", &x.Column),
		list("annotations", &x.Annotations),
	}
}

// CalculationGroup makes its table a calculation group.
type CalculationGroup struct {
	Precedence       int
	Description      Expr
	CalculationItems []*CalculationItem
	Annotations      []*Annotation

	raw raw
}

func (x *CalculationGroup) rawObject() *raw { return &x.raw }
func (x *CalculationGroup) props() []prop {
	return []prop{
		integer("precedence", &x.Precedence, 0),
		text("description", &x.Description),
		list("calculationItems", &x.CalculationItems),
		list("annotations", &x.Annotations),
	}
}

// CalculationItem is an item of a calculation group. Ordinal is -1 when
// absent (the item takes no part in ordering).
type CalculationItem struct {
	Name                   string
	Expression             Expr
	Ordinal                int
	Description            Expr
	FormatStringDefinition *FormatStringDefinition

	raw raw
}

func (x *CalculationItem) rawObject() *raw { return &x.raw }
func (x *CalculationItem) props() []prop {
	return []prop{
		str("name", &x.Name),
		text("expression", &x.Expression),
		integer("ordinal", &x.Ordinal, -1),
		text("description", &x.Description),
		optional("formatStringDefinition", &x.FormatStringDefinition),
	}
}

// CrossFilter is a filter direction of a relationship.
type CrossFilter string

// The filter directions. CrossFilterAutomatic is for crossFilteringBehavior
// only, CrossFilterNone for securityFilteringBehavior only.
const (
	CrossFilterOne       CrossFilter = "oneDirection"
	CrossFilterBoth      CrossFilter = "bothDirections"
	CrossFilterAutomatic CrossFilter = "automatic"
	CrossFilterNone      CrossFilter = "none"
)

var (
	crossFilters    = []CrossFilter{CrossFilterOne, CrossFilterBoth, CrossFilterAutomatic}
	securityFilters = []CrossFilter{CrossFilterOne, CrossFilterBoth, CrossFilterNone}
)

// Cardinality is one end of a relationship.
type Cardinality string

// The cardinalities.
const (
	CardinalityNone Cardinality = "none"
	CardinalityOne  Cardinality = "one"
	CardinalityMany Cardinality = "many"
)

var cardinalities = []Cardinality{CardinalityNone, CardinalityOne, CardinalityMany}

// Relationship relates a column of one table (the from end, by default the
// many side) to a column of another (the to end, by default the one side).
//
// Parse sets the defaults of absent properties: IsActive true,
// CrossFilteringBehavior and SecurityFilteringBehavior oneDirection,
// FromCardinality many, ToCardinality one. Empty enumerations mean their
// defaults, but IsActive is a plain bool: set it when building a
// relationship in Go.
type Relationship struct {
	Name                       string
	Type                       string
	FromTable                  string
	FromColumn                 string
	ToTable                    string
	ToColumn                   string
	IsActive                   bool
	CrossFilteringBehavior     CrossFilter
	SecurityFilteringBehavior  CrossFilter
	FromCardinality            Cardinality
	ToCardinality              Cardinality
	JoinOnDateBehavior         string
	RelyOnReferentialIntegrity bool
	Annotations                []*Annotation

	raw raw
}

func (x *Relationship) rawObject() *raw { return &x.raw }
func (x *Relationship) props() []prop {
	return []prop{
		str("name", &x.Name),
		str("type", &x.Type),
		str("fromTable", &x.FromTable),
		str("fromColumn", &x.FromColumn),
		str("toTable", &x.ToTable),
		str("toColumn", &x.ToColumn),
		boolean("isActive", &x.IsActive, true),
		enum("crossFilteringBehavior", &x.CrossFilteringBehavior, CrossFilterOne, crossFilters),
		enum("securityFilteringBehavior", &x.SecurityFilteringBehavior, CrossFilterOne, securityFilters),
		enum("fromCardinality", &x.FromCardinality, CardinalityMany, cardinalities),
		enum("toCardinality", &x.ToCardinality, CardinalityOne, cardinalities),
		str("joinOnDateBehavior", &x.JoinOnDateBehavior),
		boolean("relyOnReferentialIntegrity", &x.RelyOnReferentialIntegrity, false),
		list("annotations", &x.Annotations),
	}
}

// Filter returns the cross-filtering direction, oneDirection when empty.
func (x *Relationship) Filter() CrossFilter {
	if x.CrossFilteringBehavior == "" {
		return CrossFilterOne
	}
	return x.CrossFilteringBehavior
}

// Cardinalities returns the cardinality of the from and to ends, with the
// defaults (many, one) for empty values.
func (x *Relationship) Cardinalities() (from, to Cardinality) {
	from, to = x.FromCardinality, x.ToCardinality
	if from == "" {
		from = CardinalityMany
	}
	if to == "" {
		to = CardinalityOne
	}
	return from, to
}

// ModelPermission is the permission a role grants on the model.
type ModelPermission string

// The model permissions.
const (
	PermissionNone          ModelPermission = "none"
	PermissionRead          ModelPermission = "read"
	PermissionReadRefresh   ModelPermission = "readRefresh"
	PermissionRefresh       ModelPermission = "refresh"
	PermissionAdministrator ModelPermission = "administrator"
)

var modelPermissions = []ModelPermission{PermissionNone, PermissionRead, PermissionReadRefresh,
	PermissionRefresh, PermissionAdministrator}

// Role is a security role. An empty ModelPermission is kept empty (absent).
type Role struct {
	Name             string
	Description      Expr
	ModelPermission  ModelPermission
	Members          []*RoleMember
	TablePermissions []*TablePermission
	Annotations      []*Annotation

	raw raw
}

func (x *Role) rawObject() *raw { return &x.raw }
func (x *Role) props() []prop {
	return []prop{
		str("name", &x.Name),
		text("description", &x.Description),
		enum("modelPermission", &x.ModelPermission, "", modelPermissions),
		list("members", &x.Members),
		list("tablePermissions", &x.TablePermissions),
		list("annotations", &x.Annotations),
	}
}

// RoleMember is a member of a role: a Windows or external (Entra ID)
// identity.
type RoleMember struct {
	MemberName       string
	MemberID         string
	IdentityProvider string
	MemberType       string

	raw raw
}

func (x *RoleMember) rawObject() *raw { return &x.raw }
func (x *RoleMember) props() []prop {
	return []prop{
		str("memberName", &x.MemberName),
		str("memberId", &x.MemberID),
		str("identityProvider", &x.IdentityProvider),
		str("memberType", &x.MemberType),
	}
}

// TablePermission restricts a role's access to a table: Name names the
// table; FilterExpression is a DAX row filter.
type TablePermission struct {
	Name               string
	FilterExpression   Expr
	MetadataPermission string
	ColumnPermissions  []*ColumnPermission
	Annotations        []*Annotation

	raw raw
}

func (x *TablePermission) rawObject() *raw { return &x.raw }
func (x *TablePermission) props() []prop {
	return []prop{
		str("name", &x.Name),
		text("filterExpression", &x.FilterExpression),
		str("metadataPermission", &x.MetadataPermission),
		list("columnPermissions", &x.ColumnPermissions),
		list("annotations", &x.Annotations),
	}
}

// ColumnPermission is object-level security on a column.
type ColumnPermission struct {
	Name               string
	MetadataPermission string

	raw raw
}

func (x *ColumnPermission) rawObject() *raw { return &x.raw }
func (x *ColumnPermission) props() []prop {
	return []prop{
		str("name", &x.Name),
		str("metadataPermission", &x.MetadataPermission),
	}
}

// NamedExpression is a shared expression of the model (kind m: a Power
// Query query or parameter).
type NamedExpression struct {
	Name        string
	Kind        string
	Expression  Expr
	Description Expr
	Annotations []*Annotation

	raw raw
}

func (x *NamedExpression) rawObject() *raw { return &x.raw }
func (x *NamedExpression) props() []prop {
	return []prop{
		str("name", &x.Name),
		str("kind", &x.Kind),
		text("expression", &x.Expression),
		text("description", &x.Description),
		list("annotations", &x.Annotations),
	}
}

// The data source types. An empty type means DataSourceProvider.
const (
	DataSourceProvider   = "provider"
	DataSourceStructured = "structured"
)

// DataSource is a connection to external data. Provider sources (the only
// kind before level 1400) have a connection string; structured sources
// have connection details and a credential. Credential and Options are
// kept as JSON, unread.
type DataSource struct {
	Name              string
	Type              string
	Description       Expr
	Provider          string
	ConnectionString  string
	ImpersonationMode string
	Account           string
	ConnectionDetails *ConnectionDetails
	Credential        json.RawMessage
	Options           json.RawMessage
	Annotations       []*Annotation

	raw raw
}

func (x *DataSource) rawObject() *raw { return &x.raw }
func (x *DataSource) props() []prop {
	return []prop{
		str("name", &x.Name),
		str("type", &x.Type),
		text("description", &x.Description),
		str("provider", &x.Provider),
		str("connectionString", &x.ConnectionString),
		str("impersonationMode", &x.ImpersonationMode),
		str("account", &x.Account),
		optional("connectionDetails", &x.ConnectionDetails),
		rawJSON("credential", &x.Credential),
		rawJSON("options", &x.Options),
		list("annotations", &x.Annotations),
	}
}

// ConnectionDetails are the connection of a structured data source:
// protocol (tds, postgresql, ...) and address.
type ConnectionDetails struct {
	Protocol       string
	Address        ConnectionAddress
	Authentication json.RawMessage
	Query          json.RawMessage

	raw raw
}

func (x *ConnectionDetails) rawObject() *raw { return &x.raw }
func (x *ConnectionDetails) props() []prop {
	return []prop{
		str("protocol", &x.Protocol),
		nested("address", &x.Address),
		rawJSON("authentication", &x.Authentication),
		rawJSON("query", &x.Query),
	}
}

// ConnectionAddress is the address of a structured data source. Other
// members (url, path, ...) are kept unread.
type ConnectionAddress struct {
	Server   string
	Database string

	raw raw
}

func (x *ConnectionAddress) rawObject() *raw { return &x.raw }
func (x *ConnectionAddress) props() []prop {
	return []prop{
		str("server", &x.Server),
		str("database", &x.Database),
	}
}

// Perspective is a named subset of the model's objects.
type Perspective struct {
	Name        string
	Tables      []*PerspectiveTable
	Annotations []*Annotation

	raw raw
}

func (x *Perspective) rawObject() *raw { return &x.raw }
func (x *Perspective) props() []prop {
	return []prop{
		str("name", &x.Name),
		list("tables", &x.Tables),
		list("annotations", &x.Annotations),
	}
}

// PerspectiveTable names a table of a perspective and the objects of it
// that the perspective shows.
type PerspectiveTable struct {
	Name        string
	Columns     []*PerspectiveObject
	Measures    []*PerspectiveObject
	Hierarchies []*PerspectiveObject

	raw raw
}

func (x *PerspectiveTable) rawObject() *raw { return &x.raw }
func (x *PerspectiveTable) props() []prop {
	return []prop{
		str("name", &x.Name),
		list("columns", &x.Columns),
		list("measures", &x.Measures),
		list("hierarchies", &x.Hierarchies),
	}
}

// PerspectiveObject names a column, measure or hierarchy of a perspective
// table.
type PerspectiveObject struct {
	Name string

	raw raw
}

func (x *PerspectiveObject) rawObject() *raw { return &x.raw }
func (x *PerspectiveObject) props() []prop   { return []prop{str("name", &x.Name)} }

// Culture holds translations and linguistic metadata for one locale; both
// are kept unread.
type Culture struct {
	Name string

	raw raw
}

func (x *Culture) rawObject() *raw { return &x.raw }
func (x *Culture) props() []prop   { return []prop{str("name", &x.Name)} }

// Annotation is a name-value pair attached to an object. The value may be
// written as an array of lines, like expressions.
type Annotation struct {
	Name  string
	Value string

	raw raw
}

func (x *Annotation) rawObject() *raw { return &x.raw }
func (x *Annotation) props() []prop {
	return []prop{str("name", &x.Name), text("value", &x.Value)}
}
