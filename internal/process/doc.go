// Package process refreshes databases: it reads the partitions of a
// model's tables from their sources, encodes them into the column store,
// indexes relationships, and computes calculated columns, calculated
// tables and calculation group tables with the formula engine. The result
// is a new, immutable colstore.Database; the previous one is never
// modified, so a failed refresh leaves it as it was.
//
// Refresh types follow TMSL: full (reload and recalculate), dataOnly
// (reload data, keep calculated objects as they are — recalculated here
// too, as they would otherwise be stale), calculate (recompute calculated
// objects only), clearValues (empty the objects), automatic (load what
// has never been loaded, then recalculate).
package process
