package caddymodule

// Keeps the pinned dependencies in go.mod until the packages that use them land.
import (
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/pquerna/otp/totp"
	_ "go.etcd.io/bbolt"
)
