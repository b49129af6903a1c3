package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// secretSet records every secret a test used or received, by value, with
// what it is, so the log check can look for each.
type secretSet struct {
	mu     sync.Mutex
	values map[string]string
}

func newSecretSet() *secretSet {
	return &secretSet{values: map[string]string{}}
}

func (s *secretSet) add(kind, value string) {
	if value == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[value] = kind
}

func (s *secretSet) snapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.values))
	for v, k := range s.values {
		out[v] = k
	}
	return out
}

// leak is a secret found in a log line.
type leak struct {
	kind, line string
}

// findLeaks returns the log lines that contain a secret. Six-digit codes
// count only as whole numbers inside the JSON string values of a line,
// because timestamps and durations are numbers that may contain any six
// digits. Other secrets count anywhere in the line.
func findLeaks(output string, secrets map[string]string) []leak {
	var leaks []leak
	for _, line := range strings.Split(output, "\n") {
		if line == "" {
			continue
		}
		strs := stringValues(line)
		for value, kind := range secrets {
			if found(line, strs, value) {
				leaks = append(leaks, leak{kind: kind, line: line})
			}
		}
	}
	return leaks
}

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

func found(line string, strs []string, value string) bool {
	if !sixDigits.MatchString(value) {
		return strings.Contains(line, value)
	}
	bounded := regexp.MustCompile(`(^|[^0-9])` + value + `([^0-9]|$)`)
	for _, s := range strs {
		if bounded.MatchString(s) {
			return true
		}
	}
	return false
}

// stringValues returns the string values (and keys) of a JSON log line, or
// the whole line when it is not JSON.
func stringValues(line string) []string {
	var v any
	if json.Unmarshal([]byte(line), &v) != nil {
		return []string{line}
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				out = append(out, k)
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func TestFindLeaks(t *testing.T) {
	secrets := map[string]string{"123456": "TOTP code", "sudo_abcdefgh": "sudoToken"}
	tests := []struct {
		name, line string
		want       int
	}{
		{"code in a string", `{"msg":"checked","totp":"123456"}`, 1},
		{"code in a URI", `{"uri":"/x?code=123456&y=1"}`, 1},
		{"code in a number", `{"ts":1796405398.123456,"duration":0.123456}`, 0},
		{"longer number", `{"id":"91234567"}`, 0},
		{"token anywhere", `{"headers":{"X-Sudo-Token":["sudo_abcdefgh"]}}`, 1},
		{"plain text line", `token sudo_abcdefgh and 123456`, 2},
		{"clean", `{"msg":"handled request","status":200}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := findLeaks(tt.line, secrets); len(got) != tt.want {
				t.Errorf("findLeaks(%q) = %v, want %d leaks", tt.line, got, tt.want)
			}
		})
	}
}
