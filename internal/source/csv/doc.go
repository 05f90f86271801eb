// Package csv reads delimited text files fast and converts their fields to
// typed values, as Power Query's Csv.Document followed by
// Table.TransformColumnTypes does.
//
// # Dialect
//
// The Reader follows RFC 4180 with the extensions Power Query accepts:
//
//   - The delimiter is any rune but a double quote or a line break (comma
//     by default; tab and semicolon are common). Multi-byte delimiters work.
//   - Line breaks are LF, CRLF or a lone CR, mixed freely. Every line break
//     outside quotes ends a row. An empty line is a row with one empty
//     field; a final line break does not start another row.
//   - With QuoteCSV (QuoteStyle.Csv), a field that starts with a double
//     quote runs to the closing quote; "" inside it is one quote, and
//     delimiters and line breaks inside it are data. A quote anywhere else
//     is an ordinary character (CsvStyle.QuoteAfterDelimiter). Text between
//     a closing quote and the next delimiter is kept: `"ab"cd` reads abcd.
//     A quote never closed is an error naming the line where it opened,
//     rather than a field that swallows the rest of the file.
//   - With QuoteNone (QuoteStyle.None) quotes are ordinary characters.
//   - Rows may have any number of fields (ragged rows); the Source maps
//     them to a fixed set of columns: extra fields are dropped and missing
//     ones are BLANK, as Power Query's Columns option does.
//   - Encodings are given as Windows code pages: 65001 (UTF-8, default),
//     1252, 28591, 20127, 1200/1201 (UTF-16) and a few more single-byte
//     pages. A UTF-8 byte order mark is skipped and selects UTF-8. Invalid
//     UTF-8 bytes are replaced by U+FFFD, one per byte, as the .NET
//     decoder behind Power Query does: the load goes on, and the damaged
//     text shows where the file is broken.
//   - Limits protect the server: a row is at most 16 MiB and 16,384 fields
//     unless Options say otherwise.
//
// Line numbers in errors are physical lines of the file, from 1; a field
// after a quoted field with line breaks is reported on its own line.
//
// # Speed
//
// The Reader reads large blocks and returns fields as slices of its
// buffer, copying only fields whose quotes must be undone; the
// conversions parse bytes directly. A steady-state row allocates nothing.
// A large file on disk is read in pieces on every core (ScanParallel, cut
// at line breaks). For a sink that takes runs (source.RunSink) a file
// without text columns is converted a run of rows at a time into typed
// buffers, one call per column and run instead of one per value.
//
// # Conversions
//
// ParseWhole, ParseFloat, ParseCurrency, ParsePercent, ParseBool,
// ParseDateTime, ParseDate and ParseTime read text as Power Query does with
// the en-US culture (see each for the forms). An empty or all-white-space
// field is BLANK for every kind but Text; for Text it is an empty string,
// as in Power Query, and the sink decides what to store.
//
// Decisions where Power Query is not documented or the data is ambiguous:
// whole numbers with a fraction are rounded half to even (Int64.From);
// fixed decimals are rounded to four places half to even (Currency.From)
// without going through float64; "1" and "0" are not booleans
// (Logical.FromText); eight digits (20200131) are a date; two-digit years
// 00-49 are 20xx; a time with a zone is converted to UTC.
package csv
