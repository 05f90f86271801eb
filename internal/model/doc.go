// Package model holds tabular models as TMSL defines them: the database
// object of a .bim file (compatibility level 1200 and later) and the TMSL
// commands that deploy, refresh, back up and restore databases.
//
// # Round trip
//
// Meridian models only part of TMSL, yet a deployed database must script
// out exactly as it was deployed. Every object therefore keeps the JSON
// members it was read from, in order. json.Marshal writes each member again
// from its original bytes unless the Go field it was decoded into has
// changed since, and writes properties that were absent only when they now
// differ from their default. Hence, for any document Parse accepts,
// json.Marshal of the result decodes to the same JSON value: unknown
// properties, absent properties, expressions written as arrays of lines and
// the exact text of numbers all survive. Objects built in Go have no
// original members and are written from their fields alone.
//
// Parse fills in the defaults of absent properties (a relationship's
// isActive is true, its crossFilteringBehavior oneDirection, a column's
// type data, a partition source's type query), so code reading a parsed
// model need not know them. In objects built in Go, an empty enumeration
// means its default too.
//
// Expressions (DAX, M, SQL) may be written in TMSL as a string or as an
// array of lines; type Expr holds the joined text either way.
//
// A parsed Database may be read from several goroutines at once
// (json.Marshal, Validate and the lookups only read it); changing it needs
// the caller's own locking. To copy a database, marshal and parse it.
//
// # Names
//
// Names are compared as Analysis Services compares them, without regard to
// case (value.EqualText): Model.Table, Table.Column, Model.Measure and the
// other lookups, and the duplicate checks of Validate.
//
// # Paths
//
// Parse errors and validation problems carry a JSON path. Members are
// joined with dots; array elements are given by index and, when the
// element has a name, by the name in single quotes, doubled inside as in
// DAX:
//
//	model.tables[3 'Sales'].columns[2 'Amount'].sortByColumn
//	model.relationships[0 'Sales to Date'].toColumn
//	sequence.operations[1].refresh.objects[0].table
//
// # Limits
//
// Parse and ParseCommand refuse documents over MaxSize bytes or nested
// deeper than MaxDepth, and report malformed JSON with its line and
// column.
package model
