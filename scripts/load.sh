#!/usr/bin/env bash
# Measures what the twofactor gate costs a request. It builds Caddy and the
# example app, starts the app and three Caddy sites in front of it on
# 127.0.0.1, and runs wrk against a logged-in app page on each:
#
#   plain         reverse_proxy to the app
#   twofactor     the twofactor handler (introspect identity, a user with
#                 TOTP on and a verified session), then reverse_proxy
#   forward_auth  forward_auth to the app's /api/me, then reverse_proxy:
#                 an auth round trip per request, as gateways such as
#                 Authelia do
#
# It prints requests/s and the CPU time Caddy and the app spent per
# request for each run, and the ratios twofactor/plain and
# forward_auth/plain of both, then TOTP verifications/s from the Go
# benchmark BenchmarkAuthenticateTOTP. Every process it starts is stopped
# on exit.
#
# Settings (environment):
#   LOAD_DURATION     wrk duration per run (default 5s)
#   LOAD_CONNECTIONS  wrk connections (default 4)
#   LOAD_THREADS      wrk threads (default 1)
#   LOAD_ROUNDS       runs of each target, interleaved (default 6)
#
# Short runs, alternated, let the three targets share whatever else the
# machine is doing at the time; the ratios are medians over the rounds.
#   LOAD_PORT         first of four consecutive loopback ports (default 18180)
#   LOAD_TOTP_COUNT   verifications per TOTP benchmark run (default 3000)
#
# It installs wrk with apt-get when it is missing and it runs as root.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

duration=${LOAD_DURATION:-5s}
connections=${LOAD_CONNECTIONS:-4}
threads=${LOAD_THREADS:-1}
rounds=${LOAD_ROUNDS:-6}
base=${LOAD_PORT:-18180}
totp_count=${LOAD_TOTP_COUNT:-3000}
app_port=$base
declare -A port=([plain]=$((base + 1)) [twofactor]=$((base + 2)) [forward_auth]=$((base + 3)))
targets=(plain twofactor forward_auth)

missing=()
for tool in wrk oathtool curl; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "Installing ${missing[*]}..."
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	else
		echo "The load needs: ${missing[*]}. Install them (Debian: sudo apt-get install ${missing[*]})." >&2
		exit 1
	fi
fi

for p in "$app_port" "${port[@]}"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "Port $p on 127.0.0.1 is in use; set LOAD_PORT to the first of four free ports." >&2
		exit 1
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/twofactor-load.XXXXXX")
pids=()
stop_all() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
}
cleanup() {
	stop_all
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "Building Caddy and the example app..."
go build -o "$work/" ./cmd/caddy ./examples/legacyapp

cat >"$work/Caddyfile" <<CADDYFILE
{
	admin off
	auto_https off
	storage file_system $work/data
}

http://127.0.0.1:${port[plain]} {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:$app_port
}

http://127.0.0.1:${port[twofactor]} {
	bind 127.0.0.1
	twofactor {
		db $work/twofactor.db
		secret_key {env.TWOFACTOR_SECRET}
		credential cookie session remember
		credential header Authorization Bearer
		identity introspect http://127.0.0.1:$app_port/api/me
	}
	reverse_proxy 127.0.0.1:$app_port
}

http://127.0.0.1:${port[forward_auth]} {
	bind 127.0.0.1
	forward_auth 127.0.0.1:$app_port {
		uri /api/me
	}
	reverse_proxy 127.0.0.1:$app_port
}
CADDYFILE

TWOFACTOR_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
export TWOFACTOR_SECRET XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/data"

"$work/legacyapp" -listen "127.0.0.1:$app_port" >"$work/legacyapp.log" 2>&1 &
pids+=($!)
"$work/caddy" run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
pids+=($!)

# status prints the HTTP status of a request, or 000 without a response.
status() { curl -s -o /dev/null -w '%{http_code}' "$@" || true; }

# Any response will do: forward_auth responds 401 to anonymous visitors.
for target in "${targets[@]}"; do
	url="http://127.0.0.1:${port[$target]}/"
	for _ in $(seq 50); do
		if [ "$(status "$url")" != 000 ]; then break; fi
		sleep 0.2
	done
	if [ "$(status "$url")" = 000 ]; then
		echo "Site $target did not respond; Caddy's log follows:" >&2
		cat "$work/caddy.log" >&2
		exit 1
	fi
done

# Log in as alice and turn TOTP on through the 2FA API of the twofactor
# site. The enable call verifies the session and sets the module cookie.
site="http://127.0.0.1:${port[twofactor]}"
jar="$work/cookies"
api() {
	curl -fsS -b "$jar" -c "$jar" -X POST -H 'Content-Type: application/json' -H "Origin: $site" \
		-d "$2" "$site/user/2fa/$1"
}
curl -fsS -o /dev/null -c "$jar" -d 'username=alice&password=alice-password' "$site/login"
secret=$(api totp/setup '{}' | grep -o 'secret=[A-Z2-7]*' | cut -d= -f2)
if [ -z "$secret" ]; then
	echo "TOTP setup returned no secret" >&2
	exit 1
fi
api totp/enable "{\"totp\":\"$(oathtool --totp -b "$secret")\"}" >/dev/null

# Every cookie of the jar (session, remember and the module cookie), as a
# browser sends them. Cookies are not kept apart by port, so all three
# sites get the same header.
cookies=$(awk -F'\t' 'NF >= 7 && ($1 !~ /^#/ || $1 ~ /^#HttpOnly_/) { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$jar")
page=/dashboard
for target in "${targets[@]}"; do
	got=$(status -H "Cookie: $cookies" "http://127.0.0.1:${port[$target]}$page")
	if [ "$got" != 200 ]; then
		echo "GET $page on $target returned $got, want 200" >&2
		exit 1
	fi
done
without_module=$(echo "$cookies" | sed -E 's/(; )?twofactor=[^;]*//')
got=$(status -H "Cookie: $without_module" "$site$page")
if [ "$got" = 200 ]; then
	echo "The twofactor site let a session through without its second factor" >&2
	exit 1
fi

# cpu_ticks prints the CPU time Caddy and the app have used so far, in
# clock ticks: utime and stime of /proc/PID/stat, the 12th and 13th fields
# after the command name.
cpu_ticks() {
	for pid in "${pids[@]}"; do
		sed 's/.*) //' "/proc/$pid/stat"
	done | awk '{ sum += $12 + $13 } END { print sum }'
}
ticks_per_second=$(getconf CLK_TCK)

echo "Load: wrk -t$threads -c$connections -d$duration GET $page, $rounds rounds, $(nproc) cores"
declare -A rps cpu
for round in $(seq "$rounds"); do
	for target in "${targets[@]}"; do
		before=$(cpu_ticks)
		out=$(wrk -t"$threads" -c"$connections" -d"$duration" -H "Cookie: $cookies" \
			"http://127.0.0.1:${port[$target]}$page")
		after=$(cpu_ticks)
		if grep -q 'Non-2xx' <<<"$out"; then
			echo "wrk against $target got responses other than 2xx:" >&2
			echo "$out" >&2
			exit 1
		fi
		rps[$target,$round]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
		requests=$(awk '/ requests in / { print $1 }' <<<"$out")
		cpu[$target,$round]=$(awk -v t="$((after - before))" -v hz="$ticks_per_second" -v n="$requests" \
			'BEGIN { print t / hz * 1e6 / n }')
	done
	printf 'round %d: plain %6.0f  twofactor %6.0f  forward_auth %6.0f  req/s;' "$round" \
		"${rps[plain,$round]}" "${rps[twofactor,$round]}" "${rps[forward_auth,$round]}"
	printf '  server CPU %4.0f %4.0f %4.0f us/req\n' \
		"${cpu[plain,$round]}" "${cpu[twofactor,$round]}" "${cpu[forward_auth,$round]}"
done

# spread prints the median and the range of one value per round, read
# from standard input.
spread() {
	sort -n | awk '
		{ r[NR] = $1 }
		END {
			median = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
			printf "median %.3f (range %.3f to %.3f)", median, r[1], r[NR]
		}'
}

# ratio prints the spread of target/plain requests/s over the rounds, and
# of plain/target server CPU per request: the throughput ratio to expect
# where Caddy and the app have the cores to themselves.
ratio() {
	for round in $(seq "$rounds"); do
		echo "${rps[$1,$round]} ${rps[plain,$round]}"
	done | awk '{ print $1 / $2 }' | spread
	printf ';  by server CPU: '
	for round in $(seq "$rounds"); do
		echo "${cpu[plain,$round]} ${cpu[$1,$round]}"
	done | awk '{ print $1 / $2 }' | spread
}
echo "twofactor/plain:     $(ratio twofactor)"
echo "forward_auth/plain:  $(ratio forward_auth)"
stop_all

echo "TOTP verification: go test -bench BenchmarkAuthenticateTOTP -benchtime ${totp_count}x -count 3"
go test -run '^$' -bench '^BenchmarkAuthenticateTOTP$' -benchtime "${totp_count}x" -count 3 ./internal/api |
	awk '/^BenchmarkAuthenticateTOTP/ { for (i = 1; i < NF; i++) if ($(i + 1) == "verifications/s") print "  " $i " verifications/s" }'
