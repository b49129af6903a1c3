package identity

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// MaxUserIDDigits is the maximum number of digits of a numeric user id. It
// bounds the work of expanding an exponent such as 1e999999999; real ids
// (64-bit integers, decimal UUIDs) have at most 39 digits.
const MaxUserIDDigits = 64

// CanonicalUserID returns the canonical string form of a user id taken from
// a JSON document or a JWT claim, and false when v is not a valid user id.
//
// A non-empty string is returned as it is. A number (json.Number, float64,
// float32 or any Go integer type) must have an integer value. It is returned
// in plain decimal without exponent, fraction or leading zeros: 1, 1.0, 10e-1
// and the string "1" all give "1", and 1e3 gives "1000". Negative
// integers keep their sign. Rejected: the empty string, fractions, negative
// zero in any spelling (so that no id has two spellings), NaN and infinities,
// numbers of more than MaxUserIDDigits digits, and every other type (bool,
// null, objects, arrays).
func CanonicalUserID(v any) (string, bool) {
	switch id := v.(type) {
	case json.Number:
		return canonicalNumber(string(id))
	case string:
		return id, id != ""
	case float64:
		return canonicalFloat(id)
	case float32:
		return canonicalFloat(float64(id))
	case int:
		return strconv.FormatInt(int64(id), 10), true
	case int8:
		return strconv.FormatInt(int64(id), 10), true
	case int16:
		return strconv.FormatInt(int64(id), 10), true
	case int32:
		return strconv.FormatInt(int64(id), 10), true
	case int64:
		return strconv.FormatInt(id, 10), true
	case uint:
		return strconv.FormatUint(uint64(id), 10), true
	case uint8:
		return strconv.FormatUint(uint64(id), 10), true
	case uint16:
		return strconv.FormatUint(uint64(id), 10), true
	case uint32:
		return strconv.FormatUint(uint64(id), 10), true
	case uint64:
		return strconv.FormatUint(id, 10), true
	default:
		return "", false
	}
}

func canonicalFloat(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return "", false
	}
	if f == 0 && math.Signbit(f) {
		return "", false
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if len(strings.TrimPrefix(s, "-")) > MaxUserIDDigits {
		return "", false
	}
	return s, true
}

// canonicalNumber rewrites a JSON number (RFC 8259 section 6 grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?) as a plain integer by
// moving digits, without floating point, so large ids keep every digit.
func canonicalNumber(s string) (string, bool) {
	negative := strings.HasPrefix(s, "-")
	rest := strings.TrimPrefix(s, "-")

	intPart, rest := leadingDigits(rest)
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') {
		return "", false
	}
	var fracPart string
	if strings.HasPrefix(rest, ".") {
		fracPart, rest = leadingDigits(rest[1:])
		if fracPart == "" {
			return "", false
		}
	}
	exponent, ok := parseExponent(rest)
	if !ok {
		return "", false
	}

	digits := strings.TrimLeft(intPart+fracPart, "0")
	if digits == "" {
		// Zero, whatever the exponent. Negative zero has no canonical form.
		if negative {
			return "", false
		}
		return "0", true
	}

	// The value is digits × 10^scale. A negative scale must only drop
	// zeros; a positive one appends them, within the digit limit.
	scale := exponent - len(fracPart)
	if scale < 0 {
		kept := len(digits) + scale
		if kept <= 0 || strings.TrimRight(digits[kept:], "0") != "" {
			return "", false
		}
		digits = digits[:kept]
	} else {
		if len(digits)+scale > MaxUserIDDigits {
			return "", false
		}
		digits += strings.Repeat("0", scale)
	}
	if len(digits) > MaxUserIDDigits {
		return "", false
	}
	if negative {
		return "-" + digits, true
	}
	return digits, true
}

// leadingDigits splits s after its leading ASCII digits.
func leadingDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

// parseExponent parses the optional exponent that ends a JSON number. An
// exponent above math.MaxInt32 is reported as its sign times math.MaxInt32,
// which is out of range for every user id.
func parseExponent(s string) (int, bool) {
	if s == "" {
		return 0, true
	}
	if s[0] != 'e' && s[0] != 'E' {
		return 0, false
	}
	s = s[1:]
	sign := 1
	if s != "" && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	digits, rest := leadingDigits(s)
	if digits == "" || rest != "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > math.MaxInt32 {
		n = math.MaxInt32
	}
	return sign * n, true
}

// LookupPath returns the value at a dotted path in a decoded JSON document,
// such as "query.userinfo.id". Each segment names a key of an object, or a
// decimal index (no sign, no leading zeros) of an array. A JSON null that is
// present returns (nil, true). An empty path or an empty segment finds
// nothing. Keys that contain a dot cannot be addressed.
func LookupPath(doc any, dotted string) (any, bool) {
	if dotted == "" {
		return nil, false
	}

	current := doc
	for _, segment := range strings.Split(dotted, ".") {
		if segment == "" {
			return nil, false
		}
		switch node := current.(type) {
		case map[string]any:
			next, ok := node[segment]
			if !ok {
				return nil, false
			}
			current = next
		case []any:
			index, ok := arrayIndex(segment, len(node))
			if !ok {
				return nil, false
			}
			current = node[index]
		default:
			return nil, false
		}
	}
	return current, true
}

// arrayIndex parses segment as an index into an array of length n.
func arrayIndex(segment string, n int) (int, bool) {
	digits, rest := leadingDigits(segment)
	if digits == "" || rest != "" || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	index, err := strconv.Atoi(digits)
	if err != nil || index >= n {
		return 0, false
	}
	return index, true
}
