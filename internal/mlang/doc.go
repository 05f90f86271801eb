// Package mlang parses and evaluates the part of Power Query M that
// tabular models use to read files: the partition sources and the model's
// expressions (parameters).
//
// # Language
//
// Supported syntax: let ... in (nested), identifiers with dots
// (Table.PromoteHeaders), quoted identifiers #"...", records [A = 1, B =
// "x"] with generalized field names ([Base Line = 1]), lists {1, 2} and
// ranges {1..3}, field access x[Name] and x[Name]?, projections x[[A],
// [B]], item access x{0}, x{0}? and row lookup t{[Name = "x"]}, calls,
// if/then/else, and/or/not, = <> < <= > >=, + - * /, & (text, lists,
// records, date & time), ?? , function values (x, optional y as text) as
// table => ..., each and _ and the implicit [Name], type expressions (type
// text, type nullable number, type table [A = Int64.Type], Int64.Type and
// the other Name.Type values), x as T and x is T, meta (the value is kept,
// the metadata is never evaluated), try ... otherwise, try ... catch,
// try alone, error "..." and error records, ..., comments, and literals:
// numbers (hexadecimal too), text with "" and #(cr,lf,tab,#,hhhh)
// escapes, null, true, false, #date, #datetime, #datetimezone, #time,
// #duration, #table, #infinity, #nan. Section documents and section access
// (Section1!x) are not supported.
//
// Syntax errors are an ErrorList of positioned problems ("line 3, column
// 5: expected 'in', found end of text").
//
// # Evaluation
//
// Evaluation is lazy where M is: a let binding, a record field, a list item
// and a model expression are evaluated when first used, and at most once;
// the branch of an if not taken is never evaluated. So a model that keeps
// a Databricks or SQL branch next to a CSV one evaluates as long as the
// branch taken reads files. A name that is not defined gives an error at
// the place it is reached: "line 5, column 18: Databricks.Catalogs is not
// supported by Meridian" for a library name Meridian lacks. Function
// arguments are evaluated before the call, as M specifies. M errors
// (error, missing fields, bad conversions, unsupported functions) can be
// caught with try; cancellation and the limits that protect the server
// (nesting depth, list and table sizes) cannot.
//
// # Library
//
// Files: File.Contents (through source.Roots), Folder.Files,
// Csv.Document (options record [Delimiter, Columns, Encoding, QuoteStyle,
// CsvStyle, ExtraValues] or the positional form; text as well as files),
// Parquet.Document (no options; typed columns as package source/parquet
// reads them). Tables: Table.PromoteHeaders, Table.TransformColumnTypes (en-US culture
// only), Table.RenameColumns, Table.SelectColumns, Table.RemoveColumns
// (with MissingField.Error, .Ignore and .UseNull), Table.ColumnNames,
// Table.RowCount, Table.Skip, Table.FromRows, Table.FromRecords, #table.
// Text.Combine, Text.From, Text.Upper, Text.Lower, Text.Trim, Text.Length,
// Text.Contains, Text.StartsWith, Text.EndsWith, Text.Replace, Text.Split;
// Number.From, Number.FromText, Number.ToText, Number.Round, Number.Abs;
// Int64.From, Currency.From, Percentage.From, Logical.From,
// Logical.FromText, Date.From, DateTime.From and the other .From
// conversions; List.Count, List.First, List.Last, List.Contains,
// List.Transform, List.Select, List.Sum, List.IsEmpty; Record.Field,
// Record.FieldOrDefault, Record.FieldNames, Record.HasFields;
// Value.RemoveMetadata, Value.Metadata, Error.Record, DateTime.LocalNow;
// and the enumerations QuoteStyle, CsvStyle, ExtraValues, MissingField,
// TextEncoding, RoundingMode, Occurrence.
//
// # Tables as plans
//
// Csv.Document does not read the file (beyond its first row when the
// column count or the header is needed). It returns a plan: the file, the
// dialect, the rows to skip, and per column the field it comes from and
// the conversion to apply. Table.PromoteHeaders, TransformColumnTypes,
// RenameColumns, SelectColumns, RemoveColumns and Skip return new plans.
// EvaluateTable turns the final plan into a csv.Source that streams the
// file once per scan into the column store's sink, converting fields as
// it goes: no row is held in memory.
//
// Parquet.Document reads only the file's footer and returns a plan too:
// its columns keep the file's types until Table.TransformColumnTypes
// gives them others (a conversion the reader cannot make is an error at
// the TransformColumnTypes that asks for it), and EvaluateTable turns it
// into a parquet.Source that streams the file row group by row group.
// Table.PromoteHeaders is refused on it: a Parquet file names its
// columns, and its first row is data. Functions that need rows (t{0},
// t[Column], a row lookup) read them, up to a limit.
//
// Column types map to value types as Analysis Services loads them:
// Int64.Type and the other integer types → Integer; type number,
// Decimal.Type, Double.Type, Percentage.Type → Decimal (double);
// Currency.Type → Currency (fixed decimal); type text → String; type date,
// datetime, datetimezone, time → DateTime; type logical → Boolean.
// Power Query reads column names case-sensitively, and so does Meridian.
//
// Deviations: without a Columns option, the column count is the first
// row's, and fields beyond it are dropped (Power Query widens the table to
// the widest row). Cultures other than en-US are refused rather than read
// wrongly. Changing the type of a column twice is refused.
package mlang
