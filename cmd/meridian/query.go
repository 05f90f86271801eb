package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meridian-olap/meridian/client"
)

func init() { register(newQueryCommand) }

func newQueryCommand() *cobra.Command {
	var f clientFlags
	var format string
	cmd := &cobra.Command{
		Use:   "query DB QUERY",
		Short: "Run a DAX query and print its result",
		Long: `Run a DAX query against database DB and print the result.

QUERY is the DAX text, "-" to read it from standard input, or the name of a
file that holds it.

Formats: table (aligned columns for people, the default), csv (a header
row, then one line per row; numbers exact, dates in ISO 8601), json (one
document: {"columns":[{"name","type"}],"rows":[[...]]}).`,
		Example: `  meridian query Retail "EVALUATE SUMMARIZECOLUMNS('Date'[Year], \"Sales\", [Sales Amount])"
  meridian query Retail sales-by-year.dax --format csv > sales.csv
  echo "EVALUATE VALUES('Product'[Category])" | meridian query Retail - --json`,
		Args: usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.json {
				if cmd.Flags().Changed("format") && format != "json" {
					return usageError(fmt.Errorf("--json and --format %s disagree; give one", format))
				}
				format = "json"
			}
			switch format {
			case "table", "csv", "json":
			default:
				return usageError(fmt.Errorf("--format %q: want table, csv or json", format))
			}
			dax, err := queryText(cmd, args[1])
			if err != nil {
				return err
			}
			conn, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer conn.Close()
			res, err := conn.Query(cmd.Context(), args[0], dax)
			if err != nil {
				return commandError(err)
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "meridian: warning:", w)
			}
			if format == "csv" && len(res.More) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "meridian: warning: the query returned %d more tables; csv holds only the first\n", len(res.More))
			}
			return printResult(cmd.OutOrStdout(), res, format)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, csv or json")
	return cmd
}

// queryText reads the query: "-" is standard input; an argument naming a
// file is read from it; anything else is the query itself.
func queryText(cmd *cobra.Command, arg string) (string, error) {
	if arg == "-" {
		b, err := readInput(cmd, "-")
		return string(b), err
	}
	// A query has spaces or line breaks; a file name usually has neither,
	// and a name ending in .dax is meant as a file even when it is
	// missing, so that a typo is reported rather than sent as DAX.
	if !strings.ContainsAny(arg, "\n(") && len(arg) < 4096 {
		if st, err := os.Stat(arg); err == nil && !st.IsDir() || strings.HasSuffix(strings.ToLower(arg), ".dax") {
			b, err := readInput(cmd, arg)
			return string(b), err
		}
	}
	if strings.TrimSpace(arg) == "" {
		return "", usageError(fmt.Errorf("the query is empty"))
	}
	return arg, nil
}

func printResult(w io.Writer, res *client.Result, format string) error {
	switch format {
	case "csv":
		return writeCSV(w, res)
	case "json":
		return writeJSONResult(w, jsonResult(res))
	}
	for i, r := range append([]*client.Result{res}, res.More...) {
		if i > 0 {
			fmt.Fprintln(w)
		}
		printTable(w, r)
	}
	return nil
}

// printTable writes a result for people: aligned columns, numbers to the
// right, and the row count.
func printTable(w io.Writer, res *client.Result) {
	header := make([]string, len(res.Columns))
	right := make([]bool, len(res.Columns))
	for i, c := range res.Columns {
		header[i] = printable(c.Name)
		right[i] = c.Type == client.Integer || c.Type == client.Decimal
	}
	rows := make([][]string, len(res.Rows))
	for i, r := range res.Rows {
		cells := make([]string, len(r))
		for j, v := range r {
			cells[j] = humanValue(v)
		}
		rows[i] = cells
	}
	if len(res.Columns) > 0 {
		textTable(w, header, rows, right)
	}
	switch len(res.Rows) {
	case 1:
		fmt.Fprintln(w, "(1 row)")
	default:
		fmt.Fprintf(w, "(%s rows)\n", groupDigits(int64(len(res.Rows))))
	}
}

// humanValue formats a value for a table read by people: decimals rounded
// to four places, dates without a midnight time, booleans as DAX writes
// them.
func humanValue(v client.Value) string {
	switch v.Kind() {
	case client.Decimal:
		s := v.String()
		f, _ := v.Float()
		if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > 4 && !strings.ContainsAny(s, "eE") ||
			strings.ContainsAny(s, "eE") && !math.IsInf(f, 0) && math.Abs(f) >= 1e-4 && math.Abs(f) < 1e15 {
			s = strconv.FormatFloat(f, 'f', 4, 64)
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
			if s == "-0" {
				s = "0"
			}
		}
		return s
	case client.DateTime:
		t, _ := v.Time()
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
			return t.Format("2006-01-02")
		}
		if t.Nanosecond() != 0 {
			return t.Format("2006-01-02 15:04:05.000")
		}
		return t.Format("2006-01-02 15:04:05")
	case client.Boolean:
		if b, _ := v.Bool(); b {
			return "TRUE"
		}
		return "FALSE"
	case client.Text:
		return printable(v.String())
	}
	return v.String()
}

// writeCSV writes the first table with a header row; values exactly as
// the server sent them.
func writeCSV(w io.Writer, res *client.Result) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		header[i] = c.Name
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(res.Columns))
	for _, r := range res.Rows {
		for i, v := range r {
			rec[i] = v.String()
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// jsonTable is the --format json document.
type jsonTable struct {
	Columns  []client.Column  `json:"columns"`
	Rows     [][]client.Value `json:"rows"`
	Warnings []string         `json:"warnings,omitempty"`
	More     []jsonTable      `json:"more,omitempty"`
}

// writeJSONResult writes the document with one row a line: readable, and
// still a single JSON document.
func writeJSONResult(w io.Writer, t jsonTable) error {
	bw := bufio.NewWriter(w)
	if err := writeJSONTable(bw, t); err != nil {
		return err
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

func writeJSONTable(w *bufio.Writer, t jsonTable) error {
	cols, err := json.Marshal(t.Columns)
	if err != nil {
		return err
	}
	w.WriteString(`{"columns":`)
	w.Write(cols)
	w.WriteString(`,"rows":[`)
	for i, r := range t.Rows {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n")
		w.Write(b)
	}
	if len(t.Rows) > 0 {
		w.WriteString("\n")
	}
	w.WriteByte(']')
	if len(t.Warnings) > 0 {
		b, _ := json.Marshal(t.Warnings)
		w.WriteString(`,"warnings":`)
		w.Write(b)
	}
	if len(t.More) > 0 {
		w.WriteString(`,"more":[`)
		for i, m := range t.More {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := writeJSONTable(w, m); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	}
	w.WriteByte('}')
	return nil
}

func jsonResult(res *client.Result) jsonTable {
	t := jsonTable{Columns: res.Columns, Rows: res.Rows, Warnings: res.Warnings}
	if t.Columns == nil {
		t.Columns = []client.Column{}
	}
	if t.Rows == nil {
		t.Rows = [][]client.Value{}
	}
	for _, m := range res.More {
		t.More = append(t.More, jsonResult(m))
	}
	return t
}
