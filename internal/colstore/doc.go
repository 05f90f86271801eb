// Package colstore is Meridian's in-memory column store: the encoded data
// of a database image and the storage scans the DAX engine sends to it.
//
// A table is a sequence of partitions, each cut into segments of up to
// SegmentRows rows. A column maps values to ids through one Dict per
// column (id 0 is BLANK): a list of distinct values in first-seen order,
// so that a refresh of one partition only appends, or a value-encoded
// range that stores no values at all. Every segment holds its ids
// bit-packed at the width its largest id needs (Packed).
//
// Builder turns rows (or runs of typed values) into a Chunk; BuildTable
// encodes a table's chunks, RebuildTable re-encodes only the partitions a
// refresh changed and keeps the others' segments byte for byte. Encode
// and Decode write and read a Database as content-addressed image
// objects (format in docs/formats.md). BuildRelationship indexes a
// many-to-one relationship, blank row included.
//
// A Scan is one storage request: filters as id sets per column (or row
// sets), group keys, and aggregates (sums, counts, min, max, distinct
// counts, sums of row expressions). Scans run segments in parallel in
// blocks: filters first, then only the columns the kept rows need,
// unpacked by width-specialized kernels that gen/ generates
// (unpack_gen.go), into fused loops for dense groups and totals. A sum
// by a dimension attribute through a foreign key with a small dictionary
// is aggregated by key id and rolled up to the attribute's groups once.
package colstore
