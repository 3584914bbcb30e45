package stdlib

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ParseDuration parses a plan duration: Go's syntax ("250ms", "1m30s",
// "1h") plus "d" for days. Negative durations are refused: nothing in a
// plan lasts less than nothing.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty duration; write a number with a unit, like \"30s\" or \"250ms\"")
	}
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	// Days are not in Go's syntax; expand a leading "<n>d" into hours.
	var days float64
	if i := strings.IndexByte(t, 'd'); i > 0 {
		n, err := strconv.ParseFloat(t[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		days, t = n, t[i+1:]
		if t == "" {
			t = "0s"
		}
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil && t != "0" {
		return 0, fmt.Errorf("duration %q has no unit; write e.g. %q (units: ms, s, m, h, d)", s, t+"s")
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q; write a number with a unit, like \"30s\", \"250ms\" or \"1m30s\" (units: ns, us, ms, s, m, h, d)", s)
	}
	total := float64(d) + days*24*float64(time.Hour)
	if total > float64(math.MaxInt64) {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	return time.Duration(total), nil
}

// FormatDuration renders d the short way a plan writes it ("5m", "1m30s", "250ms").
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20, "gi": 1 << 30, "gib": 1 << 30, "ti": 1 << 40, "tib": 1 << 40,
}

// ParseSize parses a size in bytes: "1.5GiB", "512MB", "64KiB", "1024".
// Decimal units (kB, MB, GB, TB) are powers of 1000, binary units (KiB,
// MiB, GiB, TiB) powers of 1024.
func ParseSize(s string) (float64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(unicode.IsDigit(r) || r == '.') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	mult, ok := sizeUnits[strings.ToLower(unit)]
	if err != nil || !ok || math.IsInf(f, 0) {
		return 0, fmt.Errorf("invalid size %q; write a number with a unit, like \"512MiB\" or \"1.5GiB\" (units: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)", s)
	}
	return f * mult, nil
}

// FormatSize renders bytes with the largest binary unit that keeps the
// number at least 1, e.g. 1610612736 -> "1.5GiB".
func FormatSize(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return strconv.FormatFloat(math.Round(b*1000)/1000, 'f', -1, 64) + units[i]
}
