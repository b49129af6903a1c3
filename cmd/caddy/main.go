// Command caddy is a Caddy build with the standard modules and the
// twofactor handler, so that `go build ./cmd/caddy` gives a working binary.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-twofactor/caddy-twofactor/caddymodule"
)

func main() {
	caddycmd.Main()
}
