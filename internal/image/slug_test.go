package image

import "testing"

func TestSlug(t *testing.T) {
	for _, tc := range []struct {
		name string
		max  int
		want string
	}{
		{"Sales", 24, "sales"},
		{"Sales 2024 / EU", 24, "sales-2024-eu"},
		{"  leading and trailing  ", 24, "leading-and-trailing"},
		{"Ventes été", 24, "ventes-t"},
		{"売上", 24, "db"},
		{"../../etc/passwd", 24, "etc-passwd"},
		{"a_very_long_database_name_indeed", 10, "a_very_lon"},
		{"abcdefghi-jkl", 10, "abcdefghi"},
		{"", 24, "db"},
	} {
		if got := Slug(tc.name, tc.max); got != tc.want {
			t.Errorf("Slug(%q, %d) = %q, want %q", tc.name, tc.max, got, tc.want)
		}
	}
}
