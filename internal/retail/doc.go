// Package retail is Meridian's sample: a retail star schema (a Sales fact
// with Date, Product, Customer and Store dimensions) as a tabular model,
// and a deterministic generator of its data at any scale. The demo serves
// it; benchmarks and tests use it as a realistic workload.
//
// The data depends only on the number of fact rows and the seed: the same
// options give the same bytes on every machine. Dimensions have fixed
// sizes (10,000 products in 20 categories and 100 brands, 200,000
// customers in 30 countries, 100 stores, the four years 2021-2024);
// scale changes the number of sales.
package retail
