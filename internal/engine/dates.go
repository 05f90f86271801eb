package engine

import "time"

// dateLayouts are the text forms of dates DATEVALUE and conversions
// accept, en-US first.
var dateLayouts = []string{
	"2006-01-02",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05.999999999",
	"1/2/2006",
	"1/2/2006 15:04:05",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04 PM",
	"2006/1/2",
	"January 2, 2006",
	"Jan 2, 2006",
	"2-Jan-2006",
	"2 January 2006",
	"15:04:05",
	"15:04",
	"3:04:05 PM",
	"3:04 PM",
}

func parseTime(layout, s string) (time.Time, error) { return time.Parse(layout, s) }
