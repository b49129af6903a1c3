package caddymodule

import (
	"strings"
	"testing"
)

func TestCheckSettingsUIPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/user/2fa/ui", true},
		{"/2fa", true},
		{"/", false},
		{"/user/2fa/ui/", false},
		{"/user//2fa/ui", false},
		{"/user/./ui", false},
		{"/user/2fa;x/ui", false},
		{"/user/%2e%2e/ui", false},
		{"user/2fa/ui", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			h := &Handler{UIPath: tt.path}
			h.applyDefaults()
			err := h.checkSettings()
			if tt.ok && err != nil {
				t.Fatalf("checkSettings rejected ui_path %q: %v", tt.path, err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "ui_path")) {
				t.Fatalf("checkSettings error for ui_path %q = %v, want one naming ui_path", tt.path, err)
			}
		})
	}
}
