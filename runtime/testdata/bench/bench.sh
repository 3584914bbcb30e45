#!/usr/bin/env bash
# make bench: loadshaper's load engine against wrk, hey and vegeta on
# loopback. nginx (Debian's package, one worker, a small static file) is the
# target; the server is pinned to one core and every client to another with
# taskset. Prints ONE table with the ratios to the other tools.
#
#   runtime/testdata/bench/bench.sh            # everything (about 2 minutes)
#   BENCH_SECS=5 SERVER_CPU=0 CLIENT_CPU=1 runtime/testdata/bench/bench.sh
#
# Figures measured on a busy machine are noisy: run it on a quiet one.
set -euo pipefail
cd "$(dirname "$0")/../../.."

SECS=${BENCH_SECS:-5}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NGINX_PORT=${NGINX_PORT:-18080}
TESTBED_PORT=${TESTBED_PORT:-18081}

log() { echo "bench: $*" >&2; }

# --- tools -----------------------------------------------------------------
need=()
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v hey >/dev/null 2>&1 || need+=(hey)
command -v curl >/dev/null 2>&1 || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
VEGETA=$(go env GOPATH)/bin/vegeta
if [ ! -x "$VEGETA" ]; then
  log "installing vegeta"
  go install github.com/tsenart/vegeta/v12@v12.13.0
fi

WORK=$(mktemp -d /tmp/loadshaper-bench.XXXXXX)
chmod 755 "$WORK" # nginx workers run as another user when started by root
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log "building loadshaper"
go build -o "$WORK/loadshaper" ./cmd/loadshaper
LS="$WORK/loadshaper"
client() { taskset -c "$CLIENT_CPU" "$@"; }

# --- nginx -----------------------------------------------------------------
mkdir -p "$WORK/www" "$WORK/nginx"
head -c 100 /dev/zero | tr '\0' 'x' > "$WORK/www/index.html"
chmod -R a+rX "$WORK/www"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
  }
}
CONF
taskset -c "$SERVER_CPU" "$NGINX" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
PIDS+=($!)
URL="http://127.0.0.1:$NGINX_PORT/index.html"
for _ in $(seq 50); do curl -fsS "$URL" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$URL" >/dev/null || { log "nginx did not start"; cat "$WORK/nginx/error.log" >&2; exit 1; }

jq_() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# cpu_of FILE: user+sys seconds from a bash `time` written with TIMEFORMAT='%U %S'.
cpu_of() { awk '{print $1+$2}' "$1"; }
TIMEFORMAT='%U %S'

# --- 1. maximum throughput at 64 connections --------------------------------
log "max throughput, 64 connections, ${SECS}s: wrk"
client wrk -t1 -c64 -d"${SECS}s" "$URL" > "$WORK/wrk-max.txt"
WRK_RPS=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk-max.txt")
log "max throughput, 64 connections, ${SECS}s: loadshaper"
client "$LS" attack "$URL" --rate max --connections 64 --duration "${SECS}s" --format json > "$WORK/ls-max.json"
LS_RPS=$(jq_ "$WORK/ls-max.json" "d['throughput']")

# --- 2+3. 20,000 req/s for 5 s: CPU, achieved count, send lag ---------------
log "20000 req/s for 5s: vegeta"
{ time (echo "GET $URL" | client "$VEGETA" attack -rate=20000 -duration=5s > "$WORK/vegeta-20k.bin"); } 2> "$WORK/vegeta-20k.cpu"
"$VEGETA" report -type=json < "$WORK/vegeta-20k.bin" > "$WORK/vegeta-20k.json"
VEG_CPU=$(cpu_of "$WORK/vegeta-20k.cpu")
VEG_REQ=$(jq_ "$WORK/vegeta-20k.json" "d['requests']")
log "20000 req/s for 5s: loadshaper"
{ time (client "$LS" attack "$URL" --rate 20000 --connections 64 --duration 5s --format json > "$WORK/ls-20k.json"); } 2> "$WORK/ls-20k.cpu"
LS_CPU=$(cpu_of "$WORK/ls-20k.cpu")
LS_REQ=$(jq_ "$WORK/ls-20k.json" "d['requests']")
LS_DROP=$(jq_ "$WORK/ls-20k.json" "d['dropped']")
LS_LAG=$(jq_ "$WORK/ls-20k.json" "'%.2f/%.2f/%.1f' % (d['send_lag']['p50_ms'], d['send_lag']['p99_ms'], d['send_lag']['max_ms'])")

# --- 4. latency honesty: one 1 s freeze at 500 req/s over 10 connections ----
# A fresh testbed per tool, freezing once 1.5 s after it starts; each tool runs 5 s,
# so the ~500 requests due during the freeze are a fifth of the run.
honest() { # honest NAME CMD... ; runs CMD against a fresh freezing testbed
  local name=$1; shift
  taskset -c "$SERVER_CPU" "$LS" testbed --port "$TESTBED_PORT" --capacity 1000000 --workers 64 --cost 10us \
    --stall-after 1500ms --stall-for 1s --for 9s > "$WORK/testbed-$name.log" &
  local tb=$!
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$TESTBED_PORT/health" >/dev/null 2>&1 && break; sleep 0.05; done
  "$@"
  kill "$tb" 2>/dev/null || true
  wait "$tb" 2>/dev/null || true
}
TB="http://127.0.0.1:$TESTBED_PORT/x"
log "latency honesty (1 s freeze, 500 req/s, 10 connections, 5 s): loadshaper"
honest ls client "$LS" attack "$TB" --rate 500 --connections 10 --duration 5s --format json > "$WORK/ls-honest.json"
LS_P90=$(jq_ "$WORK/ls-honest.json" "d['latency']['p90_ms']")
LS_P99=$(jq_ "$WORK/ls-honest.json" "d['latency']['p99_ms']")
log "latency honesty: wrk (closed loop, no rate option)"
honest wrk client wrk -t1 -c10 -d5s --latency "$TB" > "$WORK/wrk-honest.txt"
# wrk prints "90%  1.23ms" with us, ms or s units.
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}'; }
WRK_P90=$(awk '$1=="90%" {print $2}' "$WORK/wrk-honest.txt" | to_ms)
log "latency honesty: hey"
honest hey client hey -z 5s -c 10 -q 50 "$TB" > "$WORK/hey-honest.txt"
HEY_P90=$(awk '$1=="90%" && $2=="in" {printf "%.2f", $3*1000}' "$WORK/hey-honest.txt")
log "latency honesty: vegeta"
honest vegeta bash -c "echo 'GET $TB' | taskset -c $CLIENT_CPU $VEGETA attack -rate=500 -duration=5s -max-workers=10 -workers=10 -connections=10 > $WORK/vegeta-honest.bin"
"$VEGETA" report -type=json < "$WORK/vegeta-honest.bin" > "$WORK/vegeta-honest.json"
VEG_P90=$(jq_ "$WORK/vegeta-honest.json" "'%.2f' % (d['latencies']['90th']/1e6)")

# --- 5. memory at 10,000 req/s with 1,000 connections -------------------------
log "RSS at 10000 req/s, 1000 connections, ${SECS}s: loadshaper"
/usr/bin/time -f '%M' -o "$WORK/ls-rss.txt" taskset -c "$CLIENT_CPU" "$LS" attack "$URL" --rate 10000 --connections 1000 \
  --duration "${SECS}s" --format json > "$WORK/ls-rss.json"
LS_RSS_MB=$(awk '{printf "%.1f", $1/1024}' "$WORK/ls-rss.txt")

# --- the table -----------------------------------------------------------------
python3 - "$WRK_RPS" "$LS_RPS" "$VEG_CPU" "$LS_CPU" "$VEG_REQ" "$LS_REQ" "$LS_DROP" "$LS_LAG" "$LS_P90" "$LS_P99" "$WRK_P90" "$HEY_P90" "$VEG_P90" "$LS_RSS_MB" "$SECS" <<'PY'
import sys
(wrk_rps, ls_rps, veg_cpu, ls_cpu, veg_req, ls_req, ls_drop, ls_lag, ls_p90, ls_p99, wrk_p90, hey_p90, veg_p90, rss, secs) = sys.argv[1:]
f = float
rows = []
def row(what, ours, ref, ratio, target, ok):
    rows.append((what, ours, ref, ratio, target, "yes" if ok else "NO"))
r = f(ls_rps) / f(wrk_rps)
row("max req/s, 64 conns, %ss" % secs, "%.0f" % f(ls_rps), "wrk -t1 -c64: %.0f" % f(wrk_rps), "%.2f" % r, ">= 0.90", r >= 0.9)
r = f(ls_cpu) / f(veg_cpu)
row("client CPU s, 20000/s for 5s", "%.2f" % f(ls_cpu), "vegeta: %.2f" % f(veg_cpu), "%.2f" % r, "<= 0.50", r <= 0.5)
dev = abs(f(ls_req) - 100000) / 100000
row("requests at --rate 20000 for 5s", "%d, %d dropped (send lag p50/p99/max %s ms)" % (int(f(ls_req)), int(f(ls_drop)), ls_lag), "vegeta: %d" % int(f(veg_req)),
    "%.4f of 100000" % (f(ls_req) / 100000), "within 0.5%", dev <= 0.005)
ok = f(ls_p90) >= 100
row("p90 ms, 1s freeze, 500/s, 10 conns, 5s", "%.1f (p99 %.0f)" % (f(ls_p90), f(ls_p99)),
    "wrk %.2f, hey %.2f, vegeta %.2f" % (f(wrk_p90), f(hey_p90), f(veg_p90)), "%.0fx vegeta" % (f(ls_p90) / max(f(veg_p90), 0.001)),
    "hundreds of ms", ok)
row("RSS MB, 10000/s, 1000 conns", rss, "-", "-", "< 100", f(rss) < 100)
w = [max(len(str(x[i])) for x in rows + [("measure", "loadshaper", "reference", "ratio", "target", "met")]) for i in range(6)]
hdr = ("measure", "loadshaper", "reference", "ratio", "target", "met")
for r in [hdr] + rows:
    print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)))
PY
