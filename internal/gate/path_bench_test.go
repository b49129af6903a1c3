package gate_test

import (
	"testing"

	"github.com/caddy-twofactor/caddy-twofactor/internal/gate"
)

// BenchmarkCanonicalize measures the path step every request takes: a
// clean path (the common case), and one with escapes, empty and dot
// segments to rewrite.
func BenchmarkCanonicalize(b *testing.B) {
	tests := []struct{ name, path string }{
		{"clean", "/reports/annual/2024/summary"},
		{"rewritten", "/reports//annual/./%32024/../2024/%73ummary"},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := gate.Canonicalize(tt.path, false); err != nil {
					b.Fatalf("Canonicalize(%q): %v", tt.path, err)
				}
			}
		})
	}
}
