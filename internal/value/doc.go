// Package value holds the scalar values of the tabular model and of DAX: the
// six data types (Integer, Decimal, Currency, Boolean, String, DateTime) and
// BLANK, their conversions, their text collation and a total order for
// sorting.
//
// A Value is a small immutable struct passed by value. The column store keeps
// columns in typed arrays rather than as Values; Values appear at the edges:
// dictionaries, the formula engine's scalars, query results.
//
// Representation:
//
//   - Integer is an int64.
//   - Decimal (TMSL "double") is a float64.
//   - Currency (TMSL "decimal", the fixed decimal of Analysis Services) is an
//     int64 counting ten-thousandths, so it is exact to four places.
//   - Boolean is stored as 0 or 1.
//   - DateTime is a float64 OLE Automation date: days since 1899-12-30
//     00:00:00, the fraction being the time of day. This is the number DAX
//     shows when a date is converted to a number, so date arithmetic
//     (date + 1, date - date) needs no conversion.
//   - String is a Go string (UTF-8).
//
// Text comparison follows the default collation of Analysis Services and
// Power BI: case-insensitive. Two strings that differ only by case are the
// same value; the column store keeps the first spelling it sees.
package value
