// Package engine is Meridian's formula engine: it evaluates DAX queries
// and expressions over a processed model.
//
// A Model joins a TMSL model (internal/model) with its encoded data
// (internal/colstore): tables, columns, measures, relationships and
// calculation groups, with names resolved case-insensitively.
//
// Evaluation follows DAX semantics (Microsoft's DAX reference):
//
//   - A filter context is a set of filters, each a relation over columns:
//     a set of ids of one column, a set of id tuples over several columns,
//     or a set of rows of one table (a filter on its expanded table).
//     Filters reach other tables through active relationships from the
//     one side to the many side, and both ways where the relationship is
//     bidirectional. The blank row of a table on the one side of a
//     relationship with unmatched keys is row number Rows of that table.
//   - A row context is a row of a table being iterated; a measure
//     reference or CALCULATE turns it into filters (context transition).
//   - CALCULATE applies its filters with overwrite semantics (a filter on
//     a column replaces the filters on that column) unless wrapped in
//     KEEPFILTERS, which intersects.
//
// Work reaches storage as colstore scans: a filter context becomes
// filters on the scanned table's own columns (a filter on a dimension
// attribute becomes the set of foreign-key ids whose row has the
// attribute), grouping by a related column becomes a key map, and
// iterators like SUMX compile their row expression into the scan. The
// scans of one query are cached (scancache.go): a request with the same
// filters is answered from an earlier scan that computed its aggregates,
// rolled up when it asked for coarser groups, and the measures of one
// SUMMARIZECOLUMNS share a scan. QueryOptions.Stats lists the scans.
//
// Measures in SUMMARIZECOLUMNS, ADDCOLUMNS and iterators over groups are
// evaluated set at a time (vector.go): one scan grouped by every group
// column answers every group, instead of one scan per group. Expressions
// the vector evaluator does not know fall back to evaluating each group
// with the scalar evaluator, which implements every function.
package engine
