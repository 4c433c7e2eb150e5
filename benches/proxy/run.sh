#!/usr/bin/env bash
# Side-by-side proxy benchmark: Passerelle against nginx `proxy_pass`, same upstream, same load
# generator, same run, on loopback.
#
# What it starts (all on 127.0.0.1, all stopped on exit):
#   direct      nginx serving a fixed 2 KB page at /pronote/parent.html (the "upstream")
#   nginx       nginx `proxy_pass` with upstream keepalive, in front of the upstream
#   pass-mem    Passerelle (release build, memory store) in front of the upstream
#   pass-redis  Passerelle with the Redis store (127.0.0.1:6379, unique key prefix, removed on exit)
# Each Passerelle gets a real session: a direct login done with curl (GET the form for the CSRF
# cookie and token, POST the credentials of a user hashed with `passerelle hash-password`). Every
# target receives the same request, with the same `Cookie` header, so the bytes on the wire match.
#
# Then wrk (with --latency) runs against each target in turn, alternating and rotating the order,
# for several rounds, and a table gives the median requests/s, p50 and p99 per target, and the
# ratios Passerelle/nginx and Passerelle/direct. The load generator and every server share the
# machine's cores: the figures compare the targets with each other, they are not capacity figures.
#
# Usage: benches/proxy/run.sh            (about 3 minutes with the defaults)
#        QUICK=1 benches/proxy/run.sh    (one short round per target, under a minute)
# Environment (defaults in brackets):
#   WRK_THREADS [2]  WRK_CONNECTIONS [32]  WRK_DURATION [10s]  WRK_WARMUP [2s]  ROUNDS [3]
#   BENCH_PORT_BASE [18180]: six consecutive ports from there are used
#   PASSERELLE_BENCH_REDIS [redis://127.0.0.1:6379/]   SKIP_REDIS=1 leaves the Redis target out
#   NGINX_WORKERS [auto]: worker processes of the nginx proxy (Passerelle uses one thread per core)
#   CPU_COST [1]: measure each server's CPU time per request with `perf stat` when perf works
#   PROFILE=1: instead of the rounds, sample pass-mem with `perf record -e cpu-clock` during one wrk
#     run and write the flat profile to target/bench-proxy/profile.txt (PERF_CALL_GRAPH=dwarf for stacks)
#   HOLD=1: start everything, print URLs, pids and cookies, and wait HOLD_SECONDS [600] (manual work)
#   CARGO_TARGET_DIR: where the release build goes [<repo>/target]
# Needs: cargo, curl, and Debian's nginx and wrk (installed with apt-get when missing).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
THREADS=${WRK_THREADS:-2}
CONNECTIONS=${WRK_CONNECTIONS:-32}
DURATION=${WRK_DURATION:-10s}
WARMUP=${WRK_WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
if [[ ${QUICK:-0} == 1 ]]; then
    DURATION=${WRK_DURATION:-3s}
    WARMUP=${WRK_WARMUP:-1s}
    ROUNDS=${ROUNDS_QUICK:-1}
fi
PORT_BASE=${BENCH_PORT_BASE:-18180}
REDIS_URL=${PASSERELLE_BENCH_REDIS:-redis://127.0.0.1:6379/}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

P_UPSTREAM=$PORT_BASE
P_NGINX=$((PORT_BASE + 1))
P_MEM=$((PORT_BASE + 2))
P_REDIS=$((PORT_BASE + 3))
PAGE=/pronote/parent.html
COOKIE_NAME=passerelle_session
BENCH_LOGIN=bench.parent
BENCH_PASSWORD="bench-$RANDOM-$RANDOM-password"
KEY_PREFIX="passerelle-bench-$$-$RANDOM:"

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }

# ---- tools ---------------------------------------------------------------------------------------
export PATH="$PATH:/usr/sbin:/sbin"
install_missing() {
    local missing=()
    command -v nginx >/dev/null || missing+=(nginx)
    command -v wrk >/dev/null || missing+=(wrk)
    [[ ${#missing[@]} -eq 0 ]] && return
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
    local sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    log "installing ${missing[*]} with apt-get"
    "${sudo[@]}" apt-get install -y "${missing[@]}" >&2 ||
        { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y "${missing[@]}" >&2; } ||
        die "apt-get could not install ${missing[*]}"
}
install_missing
command -v curl >/dev/null || die "curl is needed"

# ---- cleanup -------------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/passerelle-bench.XXXXXX")
chmod 755 "$WORK" # nginx workers run as an unprivileged user when started by root
PIDS=()
cleanup() {
    local status=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for conf in upstream nginx; do
        [[ -f $WORK/$conf.pid ]] && kill "$(cat "$WORK/$conf.pid")" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ ${SKIP_REDIS:-0} != 1 ]] && command -v redis-cli >/dev/null; then
        redis-cli -u "$REDIS_URL" --scan --pattern "${KEY_PREFIX}*" 2>/dev/null |
            xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url: wait until something answers, at most 15 s
    for _ in $(seq 150); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    log "nothing answers at $1"
    return 1
}

# ---- build ---------------------------------------------------------------------------------------
log "building passerelle --release"
(cd "$ROOT" && cargo build --release --quiet --bin passerelle) || die "cargo build failed"
BIN=$TARGET_DIR/release/passerelle

# ---- upstream and nginx proxy --------------------------------------------------------------------
mkdir -p "$WORK/www/pronote"
{
    printf '<!DOCTYPE html><html lang="fr"><head><title>PRONOTE banc</title></head><body>\n'
    printf '<p id="marker">page-amont-de-reference</p>\n'
    for i in $(seq 30); do printf '<p>ligne %02d du banc d essai de la passerelle, texte fixe.</p>\n' "$i"; done
    printf '</body></html>\n'
} | head -c 2048 >"$WORK/www/pronote/parent.html"
chmod -R a+rX "$WORK/www"

nginx_common="worker_rlimit_nofile 65536;
error_log $WORK/%s-error.log warn;
pid $WORK/%s.pid;
events { worker_connections 4096; }"
nginx_http_common="access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $WORK/tmp-%s-body;
    proxy_temp_path $WORK/tmp-%s-proxy;
    fastcgi_temp_path $WORK/tmp-%s-fastcgi;
    uwsgi_temp_path $WORK/tmp-%s-uwsgi;
    scgi_temp_path $WORK/tmp-%s-scgi;"

# shellcheck disable=SC2059
cat >"$WORK/upstream.conf" <<EOF
worker_processes 1;
$(printf "$nginx_common" upstream upstream)
http {
    $(printf "$nginx_http_common" u u u u u)
    default_type text/html;
    server {
        listen 127.0.0.1:$P_UPSTREAM;
        root $WORK/www;
    }
}
EOF
# shellcheck disable=SC2059
cat >"$WORK/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
$(printf "$nginx_common" nginx nginx)
http {
    $(printf "$nginx_http_common" n n n n n)
    upstream pronote {
        server 127.0.0.1:$P_UPSTREAM;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$P_NGINX;
        location / {
            proxy_pass http://pronote;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
EOF
for conf in upstream nginx; do
    nginx -q -p "$WORK" -c "$WORK/$conf.conf" -g 'daemon on;' 2>"$WORK/$conf-start.log" ||
        die "nginx ($conf) did not start: $(cat "$WORK/$conf-start.log")"
done
wait_http "http://127.0.0.1:$P_UPSTREAM$PAGE" || die "upstream nginx: $(cat "$WORK"/upstream-error.log)"
wait_http "http://127.0.0.1:$P_NGINX$PAGE" || die "nginx proxy: $(cat "$WORK"/nginx-error.log)"

# ---- Passerelle ----------------------------------------------------------------------------------
HASH=$(printf '%s\n' "$BENCH_PASSWORD" | "$BIN" hash-password) || die "hash-password failed"
start_passerelle() { # name port admin-port store-section
    local dir=$WORK/$1
    mkdir -p "$dir"
    cp -r "$ROOT/examples/demo/spaces" "$dir/spaces"
    cat >"$dir/users.toml" <<EOF
[[user]]
login = "$BENCH_LOGIN"
password_hash = "$HASH"
nom = "Martin"
prenom = "Hélène"
date_naissance = "14/03/1982"
code_postal = "69003"
categories = ["National_2"]
spaces = ["parent"]
EOF
    cat >"$dir/passerelle.toml" <<EOF
public_url = "http://127.0.0.1:$2"
spaces_dir = "spaces"

[listen]
addresses = ["127.0.0.1:$2"]

[upstream]
url = "http://127.0.0.1:$P_UPSTREAM"

[session]
secure_cookie = false

[identity]
signing_key = "bench-bench-bench-bench-bench-bench-$RANDOM"

[admin]
listen = "127.0.0.1:$3"

[log]
level = "warn"

[direct_login]
users_file = "users.toml"

$4
EOF
    "$BIN" check --config "$dir/passerelle.toml" >&2 || die "configuration of $1 refused"
    "$BIN" serve --config "$dir/passerelle.toml" >"$dir/out.log" 2>&1 &
    PIDS+=($!)
    wait_http "http://127.0.0.1:$2/auth/login/parent" || die "$1 did not start: $(cat "$dir/out.log")"
}

login() { # port -> prints the session cookie value
    local jar=$WORK/jar-$1 form token status cookie
    form=$(curl -sf -c "$jar" -b "$jar" "http://127.0.0.1:$1/auth/login/parent") ||
        die "login form unavailable on port $1"
    token=$(grep -o 'name="csrf" value="[^"]*"' <<<"$form" | head -n1 | sed 's/.*value="//; s/"$//')
    [[ -n $token ]] || die "no CSRF token in the login form on port $1"
    status=$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
        --data-urlencode "login=$BENCH_LOGIN" --data-urlencode "password=$BENCH_PASSWORD" \
        --data-urlencode "csrf=$token" "http://127.0.0.1:$1/auth/login/parent")
    cookie=$(awk -v name="$COOKIE_NAME" '$6 == name { print $7 }' "$jar" | tail -n1)
    [[ -n $cookie ]] || die "login on port $1 answered $status without a session cookie"
    printf '%s' "$cookie"
}

TARGETS=(direct nginx pass-mem)
declare -A URL=(
    [direct]="http://127.0.0.1:$P_UPSTREAM$PAGE"
    [nginx]="http://127.0.0.1:$P_NGINX$PAGE"
    [pass-mem]="http://127.0.0.1:$P_MEM$PAGE"
    [pass-redis]="http://127.0.0.1:$P_REDIS$PAGE"
)
declare -A COOKIE

start_passerelle pass-mem "$P_MEM" "$((PORT_BASE + 4))" ""
COOKIE[pass-mem]=$(login "$P_MEM")
if [[ ${SKIP_REDIS:-0} != 1 ]]; then
    start_passerelle pass-redis "$P_REDIS" "$((PORT_BASE + 5))" "[store]
backend = \"redis\"
redis_url = \"$REDIS_URL\"
key_prefix = \"$KEY_PREFIX\""
    COOKIE[pass-redis]=$(login "$P_REDIS")
    TARGETS+=(pass-redis)
fi
# The plain targets get a cookie of the same shape, so every request carries the same bytes.
COOKIE[direct]=${COOKIE[pass-mem]}
COOKIE[nginx]=${COOKIE[pass-mem]}

for target in "${TARGETS[@]}"; do
    body=$(curl -sf -H "Cookie: $COOKIE_NAME=${COOKIE[$target]}" "${URL[$target]}") ||
        die "$target does not serve $PAGE"
    grep -q page-amont-de-reference <<<"$body" || die "$target answered something else than the page"
done
log "all targets serve the 2 KB page with a valid session"

# ---- load ----------------------------------------------------------------------------------------
to_us() { # wrk latency (850.00us, 1.23ms, 1.01s) -> microseconds
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") m = 1; else if (u == "ms") m = 1000; else if (u == "s") m = 1000000;
        else if (u == "m") m = 60000000; else m = 1
        printf "%.0f", n * m }'
}
RESULTS=$WORK/results.tsv
: >"$RESULTS"
seconds() { # wrk duration (10s, 2m, 30) -> seconds
    case $1 in *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac
}
server_pids() { # target -> the processes that serve it (nginx workers, or the Passerelle process)
    case $1 in
    direct) pgrep -d, -P "$(cat "$WORK/upstream.pid")" ;;
    nginx) pgrep -d, -P "$(cat "$WORK/nginx.pid")" ;;
    pass-mem) echo "${PIDS[0]}" ;;
    pass-redis) echo "${PIDS[1]}" ;;
    esac
}
# CPU time of the target's own processes during the run (perf stat, software clock), so the table can
# say how much CPU one request costs each server: steadier than req/s when the cores are shared.
USE_PERF=0
if [[ ${CPU_COST:-1} == 1 ]] && command -v perf >/dev/null &&
    perf stat -x, -e task-clock -o /dev/null true 2>/dev/null; then
    USE_PERF=1
fi
run_wrk() { # target duration [warmup] -> appends "target rps p50us p99us cpu_us_per_request"
    local out secs
    secs=$(seconds "$2")
    if [[ $USE_PERF == 1 && ${3:-} != warmup ]]; then
        perf stat -x, -e task-clock -p "$(server_pids "$1")" -o "$WORK/stat-$1" -- sleep "$secs" \
            >/dev/null 2>&1 &
        STAT_PID=$!
    fi
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2" --latency \
        -H "Cookie: $COOKIE_NAME=${COOKIE[$1]}" "${URL[$1]}" 2>&1) || die "wrk failed on $1: $out"
    if grep -q 'Non-2xx' <<<"$out"; then die "$1 answered errors under load: $out"; fi
    [[ ${3:-} == warmup ]] && return
    local rps p50 p99 cpu=0
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    if [[ $USE_PERF == 1 ]]; then
        wait "$STAT_PID" 2>/dev/null || true
        cpu=$(awk -F, -v rps="$rps" -v secs="$secs" '$3 ~ /task-clock/ && rps > 0 {
            printf "%.1f", $1 * 1000 / (rps * secs) }' "$WORK/stat-$1" 2>/dev/null)
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$rps" "$p50" "$p99" "${cpu:-0}" >>"$RESULTS"
    log "$(printf '  %-11s %10.0f req/s   p50 %6d us   p99 %6d us   cpu %6s us/req' "$1" "$rps" "$p50" "$p99" "${cpu:-?}")"
}

if [[ ${HOLD:-0} == 1 ]]; then
    # Leave everything running for manual profiling; Ctrl-C (or the end of HOLD_SECONDS) cleans up.
    for target in "${TARGETS[@]}"; do
        log "$target: ${URL[$target]} pids $(server_pids "$target") cookie $COOKIE_NAME=${COOKIE[$target]}"
    done
    sleep "${HOLD_SECONDS:-600}"
    exit 0
fi

if [[ ${PROFILE:-0} == 1 ]]; then
    # Sample Passerelle (memory store) on the CPU clock while wrk loads it: works without hardware
    # counters (VMs, containers). The flat profile, by symbol, goes to target/bench-proxy/.
    command -v perf >/dev/null || die "PROFILE=1 needs perf (Debian: linux-perf)"
    mkdir -p "$TARGET_DIR/bench-proxy"
    run_wrk pass-mem "$WARMUP" warmup
    secs=${DURATION%s}
    perf record -q -F 1999 -e cpu-clock ${PERF_CALL_GRAPH:+--call-graph "$PERF_CALL_GRAPH"} \
        -p "${PIDS[0]}" -o "$WORK/perf.data" -- sleep "$secs" 2>/dev/null &
    perf_pid=$!
    run_wrk pass-mem "$DURATION"
    wait "$perf_pid" || true
    {
        echo "# pass-mem, perf record -e cpu-clock, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
        echo "# share by binary:"
        perf report -q -i "$WORK/perf.data" --stdio --no-children --sort dso 2>/dev/null
        echo "# top symbols:"
        perf report -q -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol 2>/dev/null |
            head -n "${PROFILE_LINES:-80}"
    } | sed 's/ *$//' >"$TARGET_DIR/bench-proxy/profile.txt"
    log "profile of pass-mem written to $TARGET_DIR/bench-proxy/profile.txt"
    exit 0
fi

n=${#TARGETS[@]}
log "warm-up ($WARMUP per target)"
for target in "${TARGETS[@]}"; do run_wrk "$target" "$WARMUP" warmup; done
for round in $(seq "$ROUNDS"); do
    log "round $round/$ROUNDS (wrk -t$THREADS -c$CONNECTIONS -d$DURATION)"
    for i in $(seq 0 $((n - 1))); do
        run_wrk "${TARGETS[$(((i + round - 1) % n))]}" "$DURATION"
    done
done

# ---- table ---------------------------------------------------------------------------------------
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A RPS P50 P99 CPU
for target in "${TARGETS[@]}"; do
    CPU[$target]=$(awk -v t="$target" '$1 == t { print $5 }' "$RESULTS" | median)
    RPS[$target]=$(awk -v t="$target" '$1 == t { print $2 }' "$RESULTS" | median)
    P50[$target]=$(awk -v t="$target" '$1 == t { print $3 }' "$RESULTS" | median)
    P99[$target]=$(awk -v t="$target" '$1 == t { print $4 }' "$RESULTS" | median)
done

cores=$(nproc)
echo
echo "Passerelle proxy benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $cores cores, $(nginx -v 2>&1 | sed 's/.*: //'), $(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}')"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $ROUNDS round(s), order rotated each round; medians over rounds."
echo "GET $PAGE (2 KB), HTTP/1.1 keep-alive, loopback. Load generator and servers share the same $cores cores."
echo
printf '| %-10s | %10s | %9s | %9s | %8s | %8s | %8s | %10s |\n' target "req/s" "p50 (ms)" "p99 (ms)" "/nginx" "/direct" "+p99 ms" "CPU us/req"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ------------ ------------ ----------- ----------- ---------- ---------- ---------- ------------
for target in "${TARGETS[@]}"; do
    awk -v t="$target" -v r="${RPS[$target]}" -v p50="${P50[$target]}" -v p99="${P99[$target]}" \
        -v rn="${RPS[nginx]}" -v rd="${RPS[direct]}" -v p99d="${P99[direct]}" -v cpu="${CPU[$target]}" \
        -v perf="$USE_PERF" 'BEGIN {
        printf "| %-10s | %10.0f | %9.3f | %9.3f | %8.3f | %8.3f | %8.3f | %10s |\n",
            t, r, p50 / 1000, p99 / 1000, r / rn, r / rd, (p99 - p99d) / 1000,
            perf ? sprintf("%.1f", cpu) : "-" }'
done
echo
echo "/nginx and /direct: throughput ratios (DESIGN §10 target for Passerelle: /nginx >= 0.90)."
echo "+p99 ms: p99 minus the direct upstream's p99 at the same load (target: under 1 ms)."
echo "CPU us/req: CPU time (perf stat task-clock) of that target's own processes per request: nginx"
echo "workers for direct and nginx, the Passerelle process for pass-* (the upstream's and Redis's"
echo "CPU are not in it). '-' when perf is unavailable; CPU_COST=0 turns it off."
