package retail

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/meridian-olap/meridian/internal/value"
)

// Sizes of the dimensions.
const (
	Products   = 10_000
	Categories = 20
	Brands     = 100
	Customers  = 200_000
	Countries  = 30
	Stores     = 100
	FirstYear  = 2021
	LastYear   = 2024
)

// Options choose the data to generate.
type Options struct {
	// Rows is the number of sales rows (scale factor 1 is 1,000,000).
	Rows int64
	// Seed varies the data; 0 is the default seed.
	Seed uint64
}

func (o Options) seed() uint64 {
	if o.Seed == 0 {
		return 20261125
	}
	return o.Seed
}

var (
	categoryNames = []string{"Audio", "Cameras", "Cell Phones", "Computers", "Games", "Home Appliances",
		"Music", "TV", "Accessories", "Bikes", "Clothing", "Components", "Furniture", "Garden", "Kitchen",
		"Lighting", "Office", "Outdoor", "Sports", "Toys"}
	colors       = []string{"Black", "White", "Red", "Blue", "Silver", "Green", "Grey", "Yellow", "Pink", "Brown"}
	countryNames = []string{"United States", "Canada", "Mexico", "Brazil", "Argentina", "United Kingdom", "France",
		"Germany", "Italy", "Spain", "Portugal", "Netherlands", "Belgium", "Switzerland", "Austria", "Sweden",
		"Norway", "Denmark", "Finland", "Poland", "Ireland", "Australia", "New Zealand", "Japan", "China",
		"India", "South Korea", "Singapore", "South Africa", "Egypt"}
	continents = []string{"North America", "North America", "North America", "South America", "South America",
		"Europe", "Europe", "Europe", "Europe", "Europe", "Europe", "Europe", "Europe", "Europe", "Europe",
		"Europe", "Europe", "Europe", "Europe", "Europe", "Europe", "Oceania", "Oceania", "Asia", "Asia",
		"Asia", "Asia", "Asia", "Africa", "Africa"}
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"}
)

// Table is one generated table: its columns and a function producing its
// rows in order.
type Table struct {
	Name    string
	Columns []Column
	Rows    int64
	// Row writes the values of row i (0-based) into out.
	Row func(i int64, out []value.Value)
}

// Column is a column of a generated table.
type Column struct {
	Name string
	Type value.Type
}

// Tables returns the generated tables, dimensions first.
func Tables(o Options) []*Table {
	first := value.DateOf(FirstYear, 1, 1)
	days := int64(value.DateOf(LastYear+1, 1, 1) - first)
	seed := o.seed()
	dateT := &Table{Name: "Date", Rows: days, Columns: []Column{
		{"Date", value.DateTime}, {"Year", value.Integer}, {"Quarter", value.String}, {"Month Number", value.Integer},
		{"Month", value.String}, {"Year Month", value.String}, {"Year Month Number", value.Integer}, {"Day of Week", value.Integer},
	}, Row: func(i int64, out []value.Value) {
		d := first + float64(i)
		y, m, _ := value.Civil(d)
		out[0] = value.Date(d)
		out[1] = value.Int(int64(y))
		out[2] = value.Str("Q" + strconv.Itoa((m-1)/3+1))
		out[3] = value.Int(int64(m))
		out[4] = value.Str(monthNames[m-1])
		out[5] = value.Str(fmt.Sprintf("%d-%02d", y, m))
		out[6] = value.Int(int64(y*100 + m))
		out[7] = value.Int(int64(value.ToTime(d).Weekday()) + 1)
	}}
	productT := &Table{Name: "Product", Rows: Products, Columns: []Column{
		{"ProductKey", value.Integer}, {"Product", value.String}, {"Brand", value.String}, {"Category", value.String},
		{"Color", value.String}, {"Unit Price", value.Currency}, {"Unit Cost", value.Currency},
	}, Row: func(i int64, out []value.Value) {
		r := rand.New(rand.NewPCG(seed, uint64(i)*2+1))
		cat := int(i) % Categories
		brand := (int(i)/Categories)%(Brands/Categories)*Categories + cat
		list, cost := prices(i+1, seed)
		out[0] = value.Int(i + 1)
		out[1] = value.Str(fmt.Sprintf("%s %s %04d", categoryNames[cat], colors[int(i)%len(colors)], i+1))
		out[2] = value.Str(fmt.Sprintf("Brand %03d", brand+1))
		out[3] = value.Str(categoryNames[cat])
		out[4] = value.Str(colors[r.IntN(len(colors))])
		out[5] = value.CurrencyUnits(list * 100)
		out[6] = value.CurrencyUnits(cost * 100)
	}}
	customerT := &Table{Name: "Customer", Rows: Customers, Columns: []Column{
		{"CustomerKey", value.Integer}, {"Customer", value.String}, {"Country", value.String},
		{"Continent", value.String}, {"City", value.String}, {"Birth Year", value.Integer},
	}, Row: func(i int64, out []value.Value) {
		r := rand.New(rand.NewPCG(seed+1, uint64(i)))
		c := countryOf(i)
		out[0] = value.Int(i + 1)
		out[1] = value.Str(fmt.Sprintf("Customer %06d", i+1))
		out[2] = value.Str(countryNames[c])
		out[3] = value.Str(continents[c])
		out[4] = value.Str(fmt.Sprintf("%s City %d", countryNames[c], r.IntN(20)+1))
		out[5] = value.Int(int64(1940 + r.IntN(65)))
	}}
	storeT := &Table{Name: "Store", Rows: Stores, Columns: []Column{
		{"StoreKey", value.Integer}, {"Store", value.String}, {"Country", value.String}, {"Square Meters", value.Integer},
	}, Row: func(i int64, out []value.Value) {
		c := int(i) % Countries
		out[0] = value.Int(i + 1)
		out[1] = value.Str(fmt.Sprintf("Store %03d %s", i+1, countryNames[c]))
		out[2] = value.Str(countryNames[c])
		out[3] = value.Int(200 + (i*37)%1800)
	}}
	salesT := &Table{Name: "Sales", Rows: o.Rows, Columns: []Column{
		{"Order Date", value.DateTime}, {"ProductKey", value.Integer}, {"CustomerKey", value.Integer},
		{"StoreKey", value.Integer}, {"Quantity", value.Integer}, {"Net Price", value.Currency}, {"Unit Cost", value.Currency},
	}, Row: func(i int64, out []value.Value) {
		// A cheap stateless hash per row keeps generation parallel and
		// deterministic.
		h := mix(seed ^ uint64(i)*0x9e3779b97f4a7c15)
		day := int64(h % uint64(days))
		h = mix(h)
		prod := int64(h%Products) + 1
		h = mix(h)
		cust := int64(h%Customers) + 1
		h = mix(h)
		store := int64(h%Stores) + 1
		h = mix(h)
		qty := int64(h%10) + 1
		h = mix(h)
		// Prices derive from the product so that margins are stable; a
		// discount of 0 to 19 percent varies the net price.
		list, cost := prices(prod, seed)
		disc := int64(h % 20)
		net := list * (100 - disc) / 100
		out[0] = value.Date(first + float64(day))
		out[1] = value.Int(prod)
		out[2] = value.Int(cust)
		out[3] = value.Int(store)
		out[4] = value.Int(qty)
		out[5] = value.CurrencyUnits(net * 100)
		out[6] = value.CurrencyUnits(cost * 100)
	}}
	return []*Table{dateT, productT, customerT, storeT, salesT}
}

// prices returns a product's list price and unit cost in cents.
func prices(product int64, seed uint64) (list, cost int64) {
	list = 500 + int64(mix(uint64(product)^seed)%1995)*100
	cost = list * (40 + int64(mix(uint64(product)*7^seed)%40)) / 100
	return list, cost
}

// countryOf spreads customers over countries unevenly, as real customers
// are: the first countries get more.
func countryOf(i int64) int {
	h := mix(uint64(i) * 31)
	c := int(h % (Countries * 3))
	if c >= Countries {
		c = int(h>>20) % 10
	}
	return c
}

// mix is the splitmix64 finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// WriteCSV writes every table as dir/<Table>.csv (UTF-8, comma, a header
// row). progress, when set, is called with rows written so far.
func WriteCSV(ctx context.Context, dir string, o Options, progress func(table string, rows int64)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("retail: %w", err)
	}
	for _, t := range Tables(o) {
		if err := writeTable(ctx, filepath.Join(dir, t.Name+".csv"), t, progress); err != nil {
			return err
		}
	}
	return nil
}

func writeTable(ctx context.Context, path string, t *Table, progress func(string, int64)) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("retail: %w", err)
	}
	defer os.Remove(tmp)
	w := bufio.NewWriterSize(f, 1<<20)
	for i, c := range t.Columns {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(c.Name)
	}
	w.WriteByte('\n')
	row := make([]value.Value, len(t.Columns))
	buf := make([]byte, 0, 256)
	for i := int64(0); i < t.Rows; i++ {
		if i%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				f.Close()
				return err
			}
			if progress != nil && i > 0 {
				progress(t.Name, i)
			}
		}
		t.Row(i, row)
		buf = buf[:0]
		for j, v := range row {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = appendCSV(buf, v)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if progress != nil {
		progress(t.Name, t.Rows)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("retail: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("retail: write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

func appendCSV(b []byte, v value.Value) []byte {
	switch v.Type() {
	case value.Blank:
		return b
	case value.Integer:
		return strconv.AppendInt(b, v.AsInt(), 10)
	case value.Currency:
		return append(b, value.FormatCurrencyUnits(v.AsInt())...)
	case value.DateTime:
		return value.ToTime(v.AsFloat()).AppendFormat(b, time.DateOnly)
	case value.String:
		s := v.AsString()
		for i := 0; i < len(s); i++ {
			if s[i] == ',' || s[i] == '"' || s[i] == '\n' {
				return strconv.AppendQuote(b, s) // names never need it; keep the file valid if they do
			}
		}
		return append(b, s...)
	}
	return append(b, v.String()...)
}
