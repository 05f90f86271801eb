package value

import (
	"fmt"
	"math"
	"time"
)

// oleEpoch is day zero of OLE Automation dates.
var oleEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

const (
	secondsPerDay = 86400
	// oleMin and oleMax bound the dates DAX accepts: 100-01-01 to
	// 9999-12-31 23:59:59.
	oleMin = -657434.0
	oleMax = 2958465.99999
)

// FromTime converts a time to an OLE Automation date. The time's wall clock
// is used as is: DAX datetimes carry no time zone.
func FromTime(t time.Time) float64 {
	y, m, d := t.Date()
	days := float64(daysFromCivil(y, int(m), d) - daysFromCivil(1899, 12, 30))
	secs := float64(t.Hour()*3600+t.Minute()*60+t.Second()) + float64(t.Nanosecond())/1e9
	return days + secs/secondsPerDay
}

// ToTime converts an OLE Automation date to a UTC time, rounded to the
// millisecond (the precision DAX datetimes keep).
func ToTime(ole float64) time.Time {
	day := math.Floor(ole)
	ms := math.Round((ole - day) * secondsPerDay * 1000)
	return oleEpoch.AddDate(0, 0, int(day)).Add(time.Duration(ms) * time.Millisecond)
}

// DateOf returns the OLE date of a calendar day. Months and days out of
// range roll over as DAX's DATE does (month 13 is January of the next year).
func DateOf(year, month, day int) float64 {
	// Normalise the month first, then let the day count carry.
	year += (month - 1) / 12
	month = (month-1)%12 + 1
	if month < 1 {
		month += 12
		year--
	}
	return float64(daysFromCivil(year, month, 1)-daysFromCivil(1899, 12, 30)) + float64(day-1)
}

// Civil returns the calendar day of an OLE date.
func Civil(ole float64) (year, month, day int) {
	t := ToTime(ole)
	y, m, d := t.Date()
	return y, int(m), d
}

// ValidDate reports whether an OLE date is within DAX's range.
func ValidDate(ole float64) bool { return ole >= oleMin && ole <= oleMax }

// FormatISO writes an OLE date as ISO 8601 without a zone:
// 2019-05-18T00:00:00, with milliseconds only when there are some. This is
// the form of dates in query results.
func FormatISO(ole float64) string {
	t := ToTime(ole)
	if t.Nanosecond() != 0 {
		return t.Format("2006-01-02T15:04:05.000")
	}
	return t.Format("2006-01-02T15:04:05")
}

// FormatGeneralDate writes an OLE date as DAX converts a datetime to text in
// en-US: "1/31/2020" for a date at midnight, "1/31/2020 1:05:00 PM" when it
// has a time.
func FormatGeneralDate(ole float64) string {
	t := ToTime(ole)
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return fmt.Sprintf("%d/%d/%d", int(t.Month()), t.Day(), t.Year())
	}
	return t.Format("1/2/2006 3:04:05 PM")
}

// daysFromCivil counts days from 1970-01-01 in the proleptic Gregorian
// calendar (Howard Hinnant's algorithm), valid for every year DAX allows.
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
