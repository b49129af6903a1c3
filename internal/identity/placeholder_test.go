package identity

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
)

func TestPlaceholderResolve(t *testing.T) {
	tests := []struct {
		name  string
		user  string
		email string
		want  *Identity
	}{
		{"user and email", "alice", "alice@example.com", &Identity{UserID: "alice", Email: "alice@example.com"}},
		{"user only", "alice", "", &Identity{UserID: "alice"}},
		{"unreplaced email", "alice", "{http.request.header.X-Email}", &Identity{UserID: "alice"}},
		{"empty user", "", "alice@example.com", nil},
		{"unreplaced user", "{http.auth.user.id}", "", nil},
		{"empty braces", "{}", "", nil},
		{"brace inside", "a{b}", "", &Identity{UserID: "a{b}"}},
		{"opening brace only", "{alice", "", &Identity{UserID: "{alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			source := NewPlaceholder(func(*http.Request) (string, string) { return tt.user, tt.email })
			result, err := source.Resolve(context.Background(), requestWith(http.Header{}), Credentials{})
			if err != nil {
				t.Fatalf("Resolve error = %v, want nil", err)
			}
			if !reflect.DeepEqual(result.Identity, tt.want) {
				t.Errorf("Identity = %+v, want %+v", result.Identity, tt.want)
			}
		})
	}
}

func TestPlaceholderPassesRequest(t *testing.T) {
	r := requestWith(http.Header{"X-User": {"bob"}})
	source := NewPlaceholder(func(got *http.Request) (string, string) {
		return got.Header.Get("X-User"), ""
	})
	result, err := source.Resolve(context.Background(), r, Credentials{})
	if err != nil || result.Identity == nil || result.Identity.UserID != "bob" {
		t.Errorf("Resolve = %+v, %v, want bob", result.Identity, err)
	}
}

func TestPlaceholderWithoutLookup(t *testing.T) {
	_, err := NewPlaceholder(nil).Resolve(context.Background(), requestWith(http.Header{}), Credentials{})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Resolve error = %v, want ErrUnavailable", err)
	}
}
