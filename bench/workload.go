package main

// Kinds of queries, for the targets.
const (
	// kindStar aggregates the fact table by attributes of its dimensions:
	// the target is at most half of DuckDB's latency.
	kindStar = "star"
	// kindScan reads the fact table alone: the target is within four
	// times the memory-bandwidth limit.
	kindScan = "scan"
)

// query is one query of the workload: DAX for Meridian, the same question
// in SQL for DuckDB, and the columns a scan must read to answer it.
type query struct {
	ID   string   `json:"id"`
	Name string   `json:"name"`
	Kind string   `json:"kind"`
	DAX  string   `json:"dax"`
	SQL  string   `json:"sql"`
	Cols []string `json:"columns"` // Table[Column] read by the storage scans
}

// amount is the sample's Sales Amount measure in SQL.
const amount = `SUM(s."Quantity" * s."Net Price")`

// The workload: the kinds of queries dashboards send over the retail
// sample's model (its measures are in package retail). The SQL joins the
// same star schema; DuckDB holds the same rows.
var workload = []query{
	{
		ID: "q01", Name: "sales by category", Kind: kindStar,
		DAX:  `EVALUATE SUMMARIZECOLUMNS('Product'[Category], "Sales Amount", [Sales Amount])`,
		SQL:  `SELECT p."Category", ` + amount + ` FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" GROUP BY 1`,
		Cols: []string{"Sales[ProductKey]", "Sales[Quantity]", "Sales[Net Price]", "Product[Category]"},
	},
	{
		ID: "q02", Name: "sales and margin by year and continent", Kind: kindStar,
		DAX: `EVALUATE SUMMARIZECOLUMNS('Date'[Year], 'Customer'[Continent], "Sales Amount", [Sales Amount], "Margin", [Margin])`,
		SQL: `SELECT d."Year", c."Continent", ` + amount + `, ` + amount + ` - SUM(s."Quantity" * s."Unit Cost")
FROM "Sales" s JOIN "Date" d ON d."Date" = s."Order Date" JOIN "Customer" c ON c."CustomerKey" = s."CustomerKey" GROUP BY 1, 2`,
		Cols: []string{"Sales[Order Date]", "Sales[CustomerKey]", "Sales[Quantity]", "Sales[Net Price]", "Sales[Unit Cost]", "Date[Year]", "Customer[Continent]"},
	},
	{
		ID: "q03", Name: "units by category, store country and quarter of 2023", Kind: kindStar,
		DAX: `EVALUATE SUMMARIZECOLUMNS('Product'[Category], 'Store'[Country], 'Date'[Quarter], TREATAS({2023}, 'Date'[Year]), "Units", [Units])`,
		SQL: `SELECT p."Category", st."Country", d."Quarter", SUM(s."Quantity")
FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" JOIN "Store" st ON st."StoreKey" = s."StoreKey"
JOIN "Date" d ON d."Date" = s."Order Date" WHERE d."Year" = 2023 GROUP BY 1, 2, 3`,
		Cols: []string{"Sales[ProductKey]", "Sales[StoreKey]", "Sales[Order Date]", "Sales[Quantity]", "Product[Category]", "Store[Country]", "Date[Quarter]", "Date[Year]"},
	},
	{
		ID: "q04", Name: "distinct customers by category", Kind: kindStar,
		DAX:  `EVALUATE SUMMARIZECOLUMNS('Product'[Category], "Customers", [Customers])`,
		SQL:  `SELECT p."Category", COUNT(DISTINCT s."CustomerKey") FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" GROUP BY 1`,
		Cols: []string{"Sales[ProductKey]", "Sales[CustomerKey]", "Product[Category]"},
	},
	{
		ID: "q05", Name: "margin % by brand (ratio of measures)", Kind: kindStar,
		DAX: `EVALUATE SUMMARIZECOLUMNS('Product'[Brand], "Margin %", [Margin %])`,
		SQL: `SELECT p."Brand", CAST(` + amount + ` - SUM(s."Quantity" * s."Unit Cost") AS DOUBLE) / CAST(` + amount + ` AS DOUBLE)
FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" GROUP BY 1`,
		Cols: []string{"Sales[ProductKey]", "Sales[Quantity]", "Sales[Net Price]", "Sales[Unit Cost]", "Product[Brand]"},
	},
	{
		ID: "q06", Name: "year-to-date sales by month", Kind: kindStar,
		DAX: `EVALUATE SUMMARIZECOLUMNS('Date'[Year], 'Date'[Month Number], "Sales YTD", [Sales YTD])`,
		SQL: `WITH m AS (SELECT d."Year" y, d."Month Number" mo, ` + amount + ` amt FROM "Sales" s JOIN "Date" d ON d."Date" = s."Order Date" GROUP BY 1, 2)
SELECT y, mo, SUM(amt) OVER (PARTITION BY y ORDER BY mo) FROM m`,
		Cols: []string{"Sales[Order Date]", "Sales[Quantity]", "Sales[Net Price]", "Date[Year]", "Date[Month Number]", "Date[Date]"},
	},
	{
		ID: "q07", Name: "sales, same period last year and growth by month", Kind: kindStar,
		DAX: `EVALUATE SUMMARIZECOLUMNS('Date'[Year], 'Date'[Month Number], "Sales Amount", [Sales Amount], "Sales LY", [Sales LY], "Sales YoY %", [Sales YoY %])`,
		SQL: `WITH m AS (SELECT d."Year" y, d."Month Number" mo, ` + amount + ` amt FROM "Sales" s JOIN "Date" d ON d."Date" = s."Order Date" GROUP BY 1, 2)
SELECT a.y, a.mo, a.amt, b.amt, CAST(a.amt - b.amt AS DOUBLE) / CAST(b.amt AS DOUBLE)
FROM m a LEFT JOIN m b ON b.y = a.y - 1 AND b.mo = a.mo`,
		Cols: []string{"Sales[Order Date]", "Sales[Quantity]", "Sales[Net Price]", "Date[Year]", "Date[Month Number]", "Date[Date]"},
	},
	{
		ID: "q08", Name: "top 10 products by sales (TOPN)", Kind: kindStar,
		DAX:  `EVALUATE TOPN(10, SUMMARIZECOLUMNS('Product'[Product], "Sales Amount", [Sales Amount]), [Sales Amount], DESC)`,
		SQL:  `SELECT p."Product", ` + amount + ` amt FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" GROUP BY 1 ORDER BY amt DESC LIMIT 10`,
		Cols: []string{"Sales[ProductKey]", "Sales[Quantity]", "Sales[Net Price]", "Product[Product]"},
	},
	{
		ID: "q09", Name: "Power BI visual: category with total, TREATAS slicers on continent and year", Kind: kindStar,
		DAX: `DEFINE
    VAR __DS0FilterTable = TREATAS({"Europe", "North America"}, 'Customer'[Continent])
    VAR __DS0FilterTable2 = TREATAS({2023, 2024}, 'Date'[Year])
    VAR __DS0Core = SUMMARIZECOLUMNS(
        ROLLUPADDISSUBTOTAL('Product'[Category], "IsGrandTotalRowTotal"),
        __DS0FilterTable,
        __DS0FilterTable2,
        "Sales_Amount", 'Sales'[Sales Amount],
        "Margin__", 'Sales'[Margin %]
    )
    VAR __DS0PrimaryWindowed = TOPN(502, __DS0Core, [IsGrandTotalRowTotal], 0, 'Product'[Category], 1)
EVALUATE
    __DS0PrimaryWindowed
ORDER BY
    [IsGrandTotalRowTotal] DESC, 'Product'[Category]`,
		SQL: `SELECT p."Category", GROUPING(p."Category") = 1, ` + amount + `,
CAST(` + amount + ` - SUM(s."Quantity" * s."Unit Cost") AS DOUBLE) / CAST(` + amount + ` AS DOUBLE)
FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" JOIN "Customer" c ON c."CustomerKey" = s."CustomerKey"
JOIN "Date" d ON d."Date" = s."Order Date"
WHERE c."Continent" IN ('Europe', 'North America') AND d."Year" IN (2023, 2024)
GROUP BY GROUPING SETS ((p."Category"), ())`,
		Cols: []string{"Sales[ProductKey]", "Sales[CustomerKey]", "Sales[Order Date]", "Sales[Quantity]", "Sales[Net Price]", "Sales[Unit Cost]",
			"Product[Category]", "Customer[Continent]", "Date[Year]"},
	},
	{
		ID: "q10", Name: "filters on three dimensions: Audio in Germany in 2024 by month", Kind: kindStar,
		DAX: `EVALUATE CALCULATETABLE(
    SUMMARIZECOLUMNS('Date'[Year Month], "Sales Amount", [Sales Amount], "Customers", [Customers]),
    'Product'[Category] = "Audio", 'Customer'[Country] = "Germany", 'Date'[Year] = 2024)`,
		SQL: `SELECT d."Year Month", ` + amount + `, COUNT(DISTINCT s."CustomerKey")
FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" JOIN "Customer" c ON c."CustomerKey" = s."CustomerKey"
JOIN "Date" d ON d."Date" = s."Order Date"
WHERE p."Category" = 'Audio' AND c."Country" = 'Germany' AND d."Year" = 2024 GROUP BY 1`,
		Cols: []string{"Sales[ProductKey]", "Sales[CustomerKey]", "Sales[Order Date]", "Sales[Quantity]", "Sales[Net Price]",
			"Product[Category]", "Customer[Country]", "Date[Year]", "Date[Year Month]"},
	},
	{
		ID: "q11", Name: "date range: sales by store, March to May 2023", Kind: kindStar,
		DAX: `EVALUATE CALCULATETABLE(SUMMARIZECOLUMNS('Store'[Store], "Sales Amount", [Sales Amount]),
    DATESBETWEEN('Date'[Date], DATE(2023, 3, 1), DATE(2023, 5, 31)))`,
		SQL: `SELECT st."Store", ` + amount + ` FROM "Sales" s JOIN "Store" st ON st."StoreKey" = s."StoreKey"
WHERE s."Order Date" BETWEEN DATE '2023-03-01' AND DATE '2023-05-31' GROUP BY 1`,
		Cols: []string{"Sales[StoreKey]", "Sales[Order Date]", "Sales[Quantity]", "Sales[Net Price]", "Store[Store]", "Date[Date]"},
	},
	{
		ID: "q12", Name: "distinct customers by year and store country", Kind: kindStar,
		DAX: `EVALUATE SUMMARIZECOLUMNS('Date'[Year], 'Store'[Country], "Customers", [Customers])`,
		SQL: `SELECT d."Year", st."Country", COUNT(DISTINCT s."CustomerKey")
FROM "Sales" s JOIN "Date" d ON d."Date" = s."Order Date" JOIN "Store" st ON st."StoreKey" = s."StoreKey" GROUP BY 1, 2`,
		Cols: []string{"Sales[Order Date]", "Sales[StoreKey]", "Sales[CustomerKey]", "Date[Year]", "Store[Country]"},
	},
	{
		ID: "q13", Name: "three attributes: sales and units by year, category and store country", Kind: kindStar,
		DAX: `EVALUATE SUMMARIZECOLUMNS('Date'[Year], 'Product'[Category], 'Store'[Country], "Sales Amount", [Sales Amount], "Units", [Units])`,
		SQL: `SELECT d."Year", p."Category", st."Country", ` + amount + `, SUM(s."Quantity")
FROM "Sales" s JOIN "Date" d ON d."Date" = s."Order Date" JOIN "Product" p ON p."ProductKey" = s."ProductKey"
JOIN "Store" st ON st."StoreKey" = s."StoreKey" GROUP BY 1, 2, 3`,
		Cols: []string{"Sales[Order Date]", "Sales[ProductKey]", "Sales[StoreKey]", "Sales[Quantity]", "Sales[Net Price]",
			"Date[Year]", "Product[Category]", "Store[Country]"},
	},
	{
		ID: "q14", Name: "margin by color for customers born from 1990", Kind: kindStar,
		DAX: `EVALUATE CALCULATETABLE(SUMMARIZECOLUMNS('Product'[Color], "Margin", [Margin]), 'Customer'[Birth Year] >= 1990)`,
		SQL: `SELECT p."Color", ` + amount + ` - SUM(s."Quantity" * s."Unit Cost")
FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" JOIN "Customer" c ON c."CustomerKey" = s."CustomerKey"
WHERE c."Birth Year" >= 1990 GROUP BY 1`,
		Cols: []string{"Sales[ProductKey]", "Sales[CustomerKey]", "Sales[Quantity]", "Sales[Net Price]", "Sales[Unit Cost]",
			"Product[Color]", "Customer[Birth Year]"},
	},
	{
		ID: "q15", Name: "single table: grand totals", Kind: kindScan,
		DAX:  `EVALUATE ROW("Sales Amount", [Sales Amount], "Units", [Units], "Orders", [Orders])`,
		SQL:  `SELECT ` + amount + `, SUM(s."Quantity"), COUNT(*) FROM "Sales" s`,
		Cols: []string{"Sales[Quantity]", "Sales[Net Price]"},
	},
	{
		ID: "q16", Name: "single table: orders and cost by quantity", Kind: kindScan,
		DAX:  `EVALUATE SUMMARIZECOLUMNS(Sales[Quantity], "Orders", [Orders], "Cost", SUM(Sales[Unit Cost]))`,
		SQL:  `SELECT s."Quantity", COUNT(*), SUM(s."Unit Cost") FROM "Sales" s GROUP BY 1`,
		Cols: []string{"Sales[Quantity]", "Sales[Unit Cost]"},
	},
	{
		ID: "q17", Name: "single table: large orders (filter on a fact column)", Kind: kindScan,
		DAX:  `EVALUATE ROW("Large orders", CALCULATE([Sales Amount], Sales[Quantity] >= 8), "Large units", CALCULATE([Units], Sales[Quantity] >= 8))`,
		SQL:  `SELECT ` + amount + `, SUM(s."Quantity") FROM "Sales" s WHERE s."Quantity" >= 8`,
		Cols: []string{"Sales[Quantity]", "Sales[Net Price]"},
	},
	{
		ID: "q18", Name: "net price by category (a plain column sum)", Kind: kindStar,
		DAX:  `EVALUATE SUMMARIZECOLUMNS('Product'[Category], "Amount", SUM(Sales[Net Price]))`,
		SQL:  `SELECT p."Category", SUM(s."Net Price") FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" GROUP BY 1`,
		Cols: []string{"Sales[ProductKey]", "Sales[Net Price]", "Product[Category]"},
	},
	{
		ID: "q19", Name: "net price by category and customer country, 2023", Kind: kindStar,
		DAX: `EVALUATE SUMMARIZECOLUMNS('Product'[Category], Customer[Country], TREATAS({2023}, 'Date'[Year]), "Amount", SUM(Sales[Net Price]))`,
		SQL: `SELECT p."Category", c."Country", SUM(s."Net Price")
FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" JOIN "Customer" c ON c."CustomerKey" = s."CustomerKey"
JOIN "Date" d ON d."Date" = s."Order Date" WHERE d."Year" = 2023 GROUP BY 1, 2`,
		Cols: []string{"Sales[ProductKey]", "Sales[CustomerKey]", "Sales[Order Date]", "Sales[Net Price]", "Product[Category]", "Customer[Country]", "Date[Year]"},
	},
	{
		ID: "q20", Name: "distinct customers by brand of one category", Kind: kindStar,
		DAX: `EVALUATE CALCULATETABLE(SUMMARIZECOLUMNS('Product'[Brand], "Customers", DISTINCTCOUNT(Sales[CustomerKey])), 'Product'[Category] = "Audio")`,
		SQL: `SELECT p."Brand", COUNT(DISTINCT s."CustomerKey")
FROM "Sales" s JOIN "Product" p ON p."ProductKey" = s."ProductKey" WHERE p."Category" = 'Audio' GROUP BY 1`,
		Cols: []string{"Sales[ProductKey]", "Sales[CustomerKey]", "Product[Category]", "Product[Brand]"},
	},
}
