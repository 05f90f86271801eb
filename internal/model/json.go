package model

// MarshalJSON writes the Database as TMSL, keeping the members it was read from.
func (x Database) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Database from TMSL.
func (x *Database) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Model as TMSL, keeping the members it was read from.
func (x Model) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Model from TMSL.
func (x *Model) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Table as TMSL, keeping the members it was read from.
func (x Table) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Table from TMSL.
func (x *Table) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Column as TMSL, keeping the members it was read from.
func (x Column) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Column from TMSL.
func (x *Column) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Measure as TMSL, keeping the members it was read from.
func (x Measure) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Measure from TMSL.
func (x *Measure) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the FormatStringDefinition as TMSL, keeping the members it was read from.
func (x FormatStringDefinition) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a FormatStringDefinition from TMSL.
func (x *FormatStringDefinition) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the KPI as TMSL, keeping the members it was read from.
func (x KPI) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a KPI from TMSL.
func (x *KPI) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Partition as TMSL, keeping the members it was read from.
func (x Partition) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Partition from TMSL.
func (x *Partition) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the PartitionSource as TMSL, keeping the members it was read from.
func (x PartitionSource) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a PartitionSource from TMSL.
func (x *PartitionSource) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Hierarchy as TMSL, keeping the members it was read from.
func (x Hierarchy) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Hierarchy from TMSL.
func (x *Hierarchy) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Level as TMSL, keeping the members it was read from.
func (x Level) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Level from TMSL.
func (x *Level) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the CalculationGroup as TMSL, keeping the members it was read from.
func (x CalculationGroup) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a CalculationGroup from TMSL.
func (x *CalculationGroup) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the CalculationItem as TMSL, keeping the members it was read from.
func (x CalculationItem) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a CalculationItem from TMSL.
func (x *CalculationItem) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Relationship as TMSL, keeping the members it was read from.
func (x Relationship) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Relationship from TMSL.
func (x *Relationship) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Role as TMSL, keeping the members it was read from.
func (x Role) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Role from TMSL.
func (x *Role) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the RoleMember as TMSL, keeping the members it was read from.
func (x RoleMember) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a RoleMember from TMSL.
func (x *RoleMember) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the TablePermission as TMSL, keeping the members it was read from.
func (x TablePermission) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a TablePermission from TMSL.
func (x *TablePermission) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the ColumnPermission as TMSL, keeping the members it was read from.
func (x ColumnPermission) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a ColumnPermission from TMSL.
func (x *ColumnPermission) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the NamedExpression as TMSL, keeping the members it was read from.
func (x NamedExpression) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a NamedExpression from TMSL.
func (x *NamedExpression) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the DataSource as TMSL, keeping the members it was read from.
func (x DataSource) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a DataSource from TMSL.
func (x *DataSource) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the ConnectionDetails as TMSL, keeping the members it was read from.
func (x ConnectionDetails) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a ConnectionDetails from TMSL.
func (x *ConnectionDetails) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the ConnectionAddress as TMSL, keeping the members it was read from.
func (x ConnectionAddress) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a ConnectionAddress from TMSL.
func (x *ConnectionAddress) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Perspective as TMSL, keeping the members it was read from.
func (x Perspective) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Perspective from TMSL.
func (x *Perspective) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the PerspectiveTable as TMSL, keeping the members it was read from.
func (x PerspectiveTable) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a PerspectiveTable from TMSL.
func (x *PerspectiveTable) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the PerspectiveObject as TMSL, keeping the members it was read from.
func (x PerspectiveObject) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a PerspectiveObject from TMSL.
func (x *PerspectiveObject) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Culture as TMSL, keeping the members it was read from.
func (x Culture) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Culture from TMSL.
func (x *Culture) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }

// MarshalJSON writes the Annotation as TMSL, keeping the members it was read from.
func (x Annotation) MarshalJSON() ([]byte, error) { return marshal(&x) }

// UnmarshalJSON reads a Annotation from TMSL.
func (x *Annotation) UnmarshalJSON(b []byte) error { return unmarshal(b, x) }
