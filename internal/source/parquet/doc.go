// Package parquet reads Apache Parquet files as Meridian sources: Power
// Query's Parquet.Document, optionally followed by
// Table.TransformColumnTypes.
//
// # Reading
//
// ReadSchema reads a file's footer and lists its top-level columns with
// the type Meridian delivers for each. A Source streams the file one row
// group at a time and, within a row group, one page per column at a time:
// only the columns the source selects are decompressed, and at most one
// page of each is held, so a file of any size is read in bounded memory.
// Row groups are read in file order, so rows arrive in file order.
// ScanParallel reads runs of whole row groups of a file on disk at once,
// the pieces in file order. Pages of a column read with its own type and
// without nulls are decoded whole into typed values and handed to a sink
// that takes runs (source.RunSink) a column at a time.
//
// # Types
//
// Parquet's logical types map to value types as Analysis Services loads
// Power Query's columns:
//
//	BOOLEAN                                   Boolean
//	INT32, INT64, INT(8..64, signed)          Integer
//	INT(8..32, unsigned)                      Integer
//	INT(64, unsigned)                         Integer (a value above 2^63-1 is an error)
//	FLOAT, DOUBLE, FLOAT16                    Decimal (double)
//	DECIMAL(p, s) with s <= 4 and p <= 18     Currency (fixed decimal, exact)
//	other DECIMAL                             Decimal (double)
//	DATE                                      DateTime (midnight)
//	TIMESTAMP (ms, us, ns), INT96             DateTime (UTC wall clock, kept to the millisecond by DAX)
//	TIME (ms, us, ns)                         DateTime (a time of day on 1899-12-30)
//	STRING, ENUM, JSON, BSON text, UUID       String (UUIDs in their 8-4-4-4-12 form)
//	BYTE_ARRAY without a logical type         String
//	NULL (the logical type)                   String, always BLANK
//
// Decision: a BYTE_ARRAY column without a logical type is read as text.
// Power Query shows it as binary, which a tabular model cannot load at
// all; many writers leave the annotation out of text columns, and loading
// the bytes as text is the useful reading. Nested groups, repeated
// columns, INTERVAL and FIXED_LEN_BYTE_ARRAY without a logical type cannot
// be loaded: they are listed by ReadSchema with the reason, and selecting
// one is an error naming it.
//
// A null (an optional column whose value is absent) is BLANK.
//
// # Conversions
//
// A column may ask for a Power Query type (csv.Kind, as
// Table.TransformColumnTypes gives it). Numbers convert between whole,
// decimal, currency and percentage (whole numbers round half to even,
// currency to four places); text converts with the CSV parsers (en-US);
// dates, date-times and times convert among themselves (a date drops the
// time of day, a time keeps only it); numbers become true/false by
// comparing with zero; any value becomes text in DAX's general format.
// Other pairs (a date to a number, true/false to a date) are refused when
// the source is built, naming the column.
//
// # Untrusted files
//
// A file is data from outside: a damaged or hostile file gives an error
// naming the file and, where known, the row group, row and column; it
// never panics the server (panics of the Parquet decoder are recovered
// into errors). Files that are not on disk (text, another source's
// binary) are held in memory up to MaxInMemory bytes.
package parquet
