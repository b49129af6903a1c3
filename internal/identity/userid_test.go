package identity

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestCanonicalUserID(t *testing.T) {
	tests := []struct {
		name   string
		in     any
		want   string
		wantOK bool
	}{
		{"string", "alice", "alice", true},
		{"numeric string kept", "01", "01", true},
		{"empty string", "", "", false},
		{"number", json.Number("1"), "1", true},
		{"number zero", json.Number("0"), "0", true},
		{"number with fraction zero", json.Number("1.0"), "1", true},
		{"number with exponent", json.Number("1e3"), "1000", true},
		{"number with upper exponent", json.Number("1E+3"), "1000", true},
		{"number with negative exponent", json.Number("1500e-3"), "", false},
		{"exponent dropping zeros", json.Number("1000e-3"), "1", true},
		{"fraction and exponent", json.Number("1.25e2"), "125", true},
		{"fraction", json.Number("1.5"), "", false},
		{"small fraction", json.Number("0.5"), "", false},
		{"negative", json.Number("-42"), "-42", true},
		{"negative zero", json.Number("-0"), "", false},
		{"negative zero fraction", json.Number("-0.0"), "", false},
		{"negative zero exponent", json.Number("-0e5"), "", false},
		{"zero with exponent", json.Number("0e-7"), "0", true},
		{"zero fraction", json.Number("0.000"), "0", true},
		{"beyond float64 precision", json.Number("12345678901234567891"), "12345678901234567891", true},
		{"64 digits", json.Number("1e63"), "1" + strings.Repeat("0", 63), true},
		{"65 digits", json.Number("1e64"), "", false},
		{"huge exponent", json.Number("1e999999999999"), "", false},
		{"huge negative exponent", json.Number("1e-999999999999"), "", false},
		{"leading zero", json.Number("01"), "", false},
		{"plus sign", json.Number("+1"), "", false},
		{"empty number", json.Number(""), "", false},
		{"trailing dot", json.Number("1."), "", false},
		{"leading dot", json.Number(".5"), "", false},
		{"bare exponent", json.Number("1e"), "", false},
		{"hex", json.Number("0x10"), "", false},
		{"trailing text", json.Number("1 "), "", false},
		{"float64", 42.0, "42", true},
		{"float64 large", 1e21, "1000000000000000000000", true},
		{"float64 fraction", 1.5, "", false},
		{"float64 negative zero", math.Copysign(0, -1), "", false},
		{"float64 NaN", math.NaN(), "", false},
		{"float64 infinity", math.Inf(1), "", false},
		{"float64 too many digits", 1e100, "", false},
		{"float32", float32(7), "7", true},
		{"int", 7, "7", true},
		{"int64 negative", int64(-7), "-7", true},
		{"uint64 max", uint64(math.MaxUint64), "18446744073709551615", true},
		{"uint8", uint8(9), "9", true},
		{"bool", true, "", false},
		{"nil", nil, "", false},
		{"object", map[string]any{"id": "1"}, "", false},
		{"array", []any{"1"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CanonicalUserID(tt.in)
			if ok != tt.wantOK {
				t.Fatalf("CanonicalUserID(%#v) ok = %v, want %v (got %q)", tt.in, ok, tt.wantOK, got)
			}
			if got != tt.want {
				t.Errorf("CanonicalUserID(%#v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLookupPath(t *testing.T) {
	doc := decodeJSON(t, `{
		"id": 7,
		"nil": null,
		"query": {"userinfo": {"id": "u1", "email": "a@example.com"}},
		"list": [{"id": 1}, {"id": 2}],
		"dotted.key": 3
	}`)
	tests := []struct {
		path      string
		want      any
		wantFound bool
	}{
		{"id", json.Number("7"), true},
		{"nil", nil, true},
		{"query.userinfo.id", "u1", true},
		{"query.userinfo", map[string]any{"id": "u1", "email": "a@example.com"}, true},
		{"list.1.id", json.Number("2"), true},
		{"list.2.id", nil, false},
		{"list.01.id", nil, false},
		{"list.-1.id", nil, false},
		{"list.+1.id", nil, false},
		{"list.id", nil, false},
		{"query.missing", nil, false},
		{"id.deeper", nil, false},
		{"dotted.key", nil, false},
		{"", nil, false},
		{".id", nil, false},
		{"id.", nil, false},
		{"query..id", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, found := LookupPath(doc, tt.path)
			if found != tt.wantFound {
				t.Fatalf("LookupPath(%q) found = %v, want %v", tt.path, found, tt.wantFound)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("LookupPath(%q) = %#v, want %#v", tt.path, got, tt.want)
			}
		})
	}
}

func TestLookupPathScalarDocument(t *testing.T) {
	if got, found := LookupPath("text", "id"); found {
		t.Errorf("LookupPath(string, id) = %#v, true, want not found", got)
	}
}

func decodeJSON(t testing.TB, text string) any {
	t.Helper()
	decoder := json.NewDecoder(strings.NewReader(text))
	decoder.UseNumber()
	var doc any
	if err := decoder.Decode(&doc); err != nil {
		t.Fatalf("decoding %q: %v", text, err)
	}
	return doc
}
