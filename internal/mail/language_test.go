package mail

import (
	"slices"
	"strings"
	"testing"
)

func TestLanguage(t *testing.T) {
	tests := []struct {
		name, query, accept, want string
	}{
		{"nothing", "", "", "en"},
		{"query", "nl", "de", "nl"},
		{"query upper case", "FR", "", "fr"},
		{"query spaces", " de ", "", "de"},
		{"query unknown", "es", "fr", "fr"},
		{"query region", "fr-CA", "de", "de"},
		{"accept first", "", "de, fr", "de"},
		{"accept region", "", "nl-BE,nl;q=0.9", "nl"},
		{"accept q-values", "", "en;q=0.5, fr;q=0.9, de;q=0.7", "fr"},
		{"accept skips unknown", "", "es, it;q=0.9, de;q=0.1", "de"},
		{"accept q zero", "", "fr;q=0, nl;q=0.2", "nl"},
		{"accept only q zero", "", "de;q=0", "en"},
		{"accept wildcard", "", "es, *;q=0.5", "en"},
		{"accept bad q", "", "fr;q=abc, de;q=0.3", "de"},
		{"accept q above one", "", "fr;q=2, nl;q=0.3", "nl"},
		{"accept upper case", "", "DE-AT", "de"},
		{"accept tie keeps order", "", "nl;q=0.8, fr;q=0.8", "nl"},
		{"accept unknown only", "", "es, pt-BR", "en"},
		{"accept garbage", "", ";;,,=;q=", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Language(tt.query, tt.accept); got != tt.want {
				t.Errorf("Language(%q, %q) = %q, want %q", tt.query, tt.accept, got, tt.want)
			}
		})
	}
}

func TestLanguageLongHeader(t *testing.T) {
	accept := strings.Repeat("es,", maxLanguageRanges) + "de"
	if got := Language("", accept); got != "en" {
		t.Errorf("Language with de after %d ranges = %q, want en (ranges past the limit are ignored)",
			maxLanguageRanges, got)
	}
}

func FuzzLanguage(f *testing.F) {
	for _, seed := range []string{"", "de", "nl-BE,nl;q=0.9,en;q=0.8", "*;q=0.1", "fr;q=NaN", ";q=1,;"} {
		f.Add("", seed)
	}
	f.Add("FR", "de")
	f.Fuzz(func(t *testing.T, query, accept string) {
		if got := Language(query, accept); !slices.Contains(Languages, got) {
			t.Errorf("Language(%q, %q) = %q, want one of %v", query, accept, got, Languages)
		}
	})
}
