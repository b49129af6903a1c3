package gate

import "testing"

func TestIsPlainPath(t *testing.T) {
	tests := []struct {
		path  string
		plain bool
	}{
		{"/", true},
		{"/a", true},
		{"/reports/annual/", true},
		{"/a.b/~c_d-e/F9", true},
		{"/a/...", true},
		{"//", false},
		{"/a//b", false},
		{"/./a", false},
		{"/a/..", false},
		{"/a/../b", false},
		{"/a%41", false},
		{"/a;b", false},
		{"/a b", false},
		{"/a\\b", false},
		{"/a\x00", false},
		{"/é", false},
	}
	for _, tt := range tests {
		if got := isPlainPath(tt.path); got != tt.plain {
			t.Errorf("isPlainPath(%q) = %v, want %v", tt.path, got, tt.plain)
		}
	}
}

// TestCanonicalizePlainPathUnchanged checks that the shortcut returns what
// parseCanonical returns, for every plain path of up to five bytes over a
// small alphabet.
func TestCanonicalizePlainPathUnchanged(t *testing.T) {
	alphabet := "/a.~"
	paths := []string{"/"}
	for range 4 {
		for _, p := range paths {
			for _, c := range alphabet {
				paths = append(paths, p+string(c))
			}
		}
	}
	checked := 0
	for _, p := range paths {
		if !isPlainPath(p) {
			continue
		}
		checked++
		got, err := Canonicalize(p, false)
		if err != nil {
			t.Fatalf("Canonicalize(%q): %v", p, err)
		}
		want, err := parseCanonical(p, false)
		if err != nil {
			t.Fatalf("full parse of %q: %v", p, err)
		}
		if got != want {
			t.Errorf("Canonicalize(%q) = %+v, want %+v", p, got, want)
		}
	}
	if checked < 50 {
		t.Errorf("only %d plain paths checked", checked)
	}
}
