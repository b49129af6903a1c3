#!/usr/bin/env bash
# Runs the demo: the example legacy app, a mail sink and Caddy with the
# twofactor module in front of the app, all on loopback. Ctrl-C stops all.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/.demo"
mkdir -p "$demo/bin" "$demo/data"
cd "$root"

echo "Building caddy, the example app and the mail sink (the first build takes a few minutes)..."
go build -o "$demo/bin/caddy" ./cmd/caddy
go build -o "$demo/bin/legacyapp" ./examples/legacyapp
go build -o "$demo/bin/mailsink" ./examples/mailsink

# A demo-only secret, created once and kept in .demo so that enrolments
# survive restarts. A real deployment takes it from a secret store.
if [ ! -s "$demo/secret" ]; then
	(umask 077 && head -c 48 /dev/urandom | base64 > "$demo/secret")
fi
export TWOFACTOR_SECRET
TWOFACTOR_SECRET=$(cat "$demo/secret")
export TWOFACTOR_DB="$demo/data/twofactor.db"
export XDG_DATA_HOME="$demo/data" XDG_CONFIG_HOME="$demo/data"

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$demo/bin/legacyapp" -listen 127.0.0.1:9000 >"$demo/legacyapp.log" 2>&1 &
pids+=($!)
"$demo/bin/mailsink" -smtp 127.0.0.1:2525 -http 127.0.0.1:8025 >"$demo/mailsink.log" 2>&1 &
pids+=($!)
"$demo/bin/caddy" run --config Caddyfile.example --adapter caddyfile >"$demo/caddy.log" 2>&1 &
pids+=($!)

for _ in $(seq 50); do
	if curl -fsS -o /dev/null http://localhost:8080/ 2>/dev/null; then break; fi
	sleep 0.2
done
if ! curl -fsS -o /dev/null http://localhost:8080/; then
	echo "Caddy did not start; its log follows:" >&2
	cat "$demo/caddy.log" >&2
	exit 1
fi

cat <<MSG

The demo is running:
  App through Caddy:  http://localhost:8080/      (log in as alice / alice-password)
  Set up 2FA:         http://localhost:8080/user/2fa/ui/enroll
  Mail sink:          http://localhost:8025/      (email codes and notices land here)
  Logs:               $demo/*.log

Other users: bob / bob-password, carol / carol-password. Press Ctrl-C to stop.
MSG
wait
