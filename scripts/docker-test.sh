#!/usr/bin/env bash
# Checks the Docker deployment from an engine that cannot pull images: builds the base images
# locally (deploy/local-images.sh), builds the ev-rental image, then
#   (a) one container in single-node mode: healthy by its HEALTHCHECK, not root, /healthz on the
#       published port, the stores on the data volume, a clean exit 0 on docker stop, and a
#       restart on the same volume;
#   (b) compose.yaml: valid, its three NATS servers one JetStream cluster (routes, a meta leader,
#       every write fsynced), and, once the server has cluster mode, its three nodes up and
#       agreeing on a leader;
#   (c) the fleet simulator on this host against the three nodes (`--target` with all three, the
#       services' clock sped up 120 times), the leading container killed with SIGKILL once a
#       dozen reservations are booked: no acknowledged reservation lost, no violation in the
#       audit, and no error but those a failover may cause (the lost answer of a release or a
#       cancellation, a command to a unit that had not yet found the new leader).
# Everything it starts is removed on exit, failed or not (the images stay: they are the cache
# that makes the next run fast). Exits non-zero at the first failed check.
#
#   scripts/docker-test.sh
#   SKIP_BASE_IMAGES=1 scripts/docker-test.sh     # the base images come from a registry
#   SIMULATOR=path/to/simulator scripts/docker-test.sh   # else built with cargo (debug)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${EVR_TEST_IMAGE:-ev-rental:test}
NATS_IMAGE=${NATS_IMAGE:-nats:2.12}
RUNTIME_IMAGE=${RUNTIME_IMAGE:-debian:bookworm-slim}
PROJECT=evrtest$$
SPEEDUP=120
# Reservations on the books before the leader is killed: the kill then falls among bookings,
# rentals under way and cars on the move.
BOOKED_BEFORE_KILL=12
SINGLE=$PROJECT-single
PROBE_CONTAINER=$PROJECT-cluster-probe
VOLUME=$PROJECT-data
WORK=$(mktemp -d /tmp/evr-docker-test.XXXXXX)
export NATS_IMAGE

if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null; then
    COMPOSE=(docker-compose)
else
    echo "neither 'docker compose' nor docker-compose is installed" >&2
    exit 1
fi
compose() { "${COMPOSE[@]}" -p "$PROJECT" -f compose.yaml "$@"; }

cleanup() {
    local status=$?
    set +e
    docker rm -f -v "$SINGLE" "$PROBE_CONTAINER" >/dev/null 2>&1
    docker volume rm "$VOLUME" >/dev/null 2>&1
    compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1
    rm -rf "$WORK"
    if [[ $status == 0 ]]; then echo "docker-test: passed in $SECONDS s"; else echo "docker-test: FAILED" >&2; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

phase_name='' phase_start=0
phase() {
    [[ -z $phase_name ]] || echo "== $phase_name: $((SECONDS - phase_start)) s"
    phase_name=$1 phase_start=$SECONDS
    [[ -z $phase_name ]] || echo "== $phase_name"
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
ok() { echo "ok: $*"; }

# A GET's body; fails on a non-2xx answer, on no answer and after 5 s.
http_get() { curl -fsS --max-time 5 "$@"; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

published_port() { docker port "$1" 8080/tcp | head -n1 | sed 's/.*://'; }

# Waits until a container's health is `healthy`; fails at once if it stops, after $2 s otherwise.
wait_healthy() {
    local container=$1 limit=$2 deadline=$((SECONDS + $2)) status
    while :; do
        status=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$container")
        case $status in
            'running healthy') return 0 ;;
            running*) ;;
            *) docker logs --tail 30 "$container" >&2; fail "$container stopped before it was healthy ($status)" ;;
        esac
        if ((SECONDS >= deadline)); then
            docker inspect -f '{{json .State.Health}}' "$container" >&2
            docker logs --tail 30 "$container" >&2
            fail "$container not healthy after $limit s ($status)"
        fi
        sleep 1
    done
}

# SIGTERM, then a kill after 30 s (exit code 137); the server must have exited 0 before.
stop_cleanly() {
    local result
    docker stop -t 30 "$1" >/dev/null
    result=$(docker inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' "$1")
    [[ $result == '0 false' ]] || {
        docker logs --tail 30 "$1" >&2
        fail "docker stop $1: exit code and OOM-killed '$result' (137 is a kill at the timeout)"
    }
}

# Waits until a URL answers 2xx, for at most $2 s.
wait_http() {
    local url=$1 limit=$2 deadline=$((SECONDS + $2))
    until http_get -o /dev/null "$url" 2>/dev/null; do
        ((SECONDS < deadline)) || fail "$url did not answer within $limit s"
        sleep 1
    done
}

# Reads one field of a JSON document on stdin by a Python expression on `d`.
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# The image's HEALTHCHECK runs `ev-rental probe`. A server without that subcommand would stay
# `unhealthy` forever, so its health is then checked with the same request to /readyz made by
# bash alone, and the run says so.
health_args=(--health-interval 2s --health-start-period 60s)
probe_answer=''
probe_supported() {
    # Nothing listens on port 9: a server with the subcommand fails to connect, one without it
    # refuses the argument.
    [[ -n $probe_answer ]] || probe_answer=$(docker run --rm "$IMAGE" probe http://127.0.0.1:9/readyz 2>&1 || true)
    ! grep -qiE "unexpected argument|unrecognized subcommand" <<<"$probe_answer"
}

phase "base images"
if [[ ${SKIP_BASE_IMAGES:-0} != 1 ]]; then
    deploy/local-images.sh
fi

phase "ev-rental image"
if ! docker build --force-rm -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
    tail -40 "$WORK/build.log" >&2
    fail "docker build"
fi
grep -E '^Successfully built|Finished' "$WORK/build.log" || true

phase "single node"
if probe_supported; then
    ok "the image's HEALTHCHECK (ev-rental probe) is used as is"
else
    echo "NOTE: this ev-rental has no 'probe' subcommand yet, so the image's HEALTHCHECK would report" \
        "unhealthy; its health is checked here with the same GET /readyz sent by bash" >&2
    # shellcheck disable=SC2016 # expanded by the container's bash, not here
    health_args+=(--health-cmd
        'bash -c '\''exec 3<>/dev/tcp/127.0.0.1/8080 && printf "GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && read -r -t 5 _ code _ <&3 && [[ $code == 2* ]]'\''')
fi
docker volume create "$VOLUME" >/dev/null
docker run -d --name "$SINGLE" -v "$VOLUME:/var/lib/ev-rental" -p 127.0.0.1::8080 \
    "${health_args[@]}" "$IMAGE" >/dev/null
wait_healthy "$SINGLE" 120
ok "healthy per its health check"

uid=$(docker exec "$SINGLE" stat -c %u /proc/1)
[[ $uid =~ ^[0-9]+$ && $uid != 0 ]] || fail "the server runs as uid '$uid'"
[[ $(docker exec "$SINGLE" id -u) == "$uid" ]] || fail "docker exec runs as another uid than the server"
ok "runs as uid $uid"

port=$(published_port "$SINGLE")
status=$(http_get "http://127.0.0.1:$port/healthz" | json 'd["status"]') || fail "GET /healthz on port $port"
[[ $status == ok ]] || fail "GET /healthz answered status $status"
http_get -o /dev/null "http://127.0.0.1:$port/readyz" || fail "GET /readyz on port $port"
ok "/healthz and /readyz answer on the published port $port"

# What the server keeps (the stores, the generated secrets) must be on the volume, owned by the
# server's user, the keys readable by it alone.
listing=$(docker run --rm --user 0 --entrypoint bash -v "$VOLUME:/data:ro" "$IMAGE" -c \
    'cd /data && stat -c "%n %u %a" *') || fail "reading the volume"
for store in customers vehicles location reservations locks billing notifications; do
    grep -qE "^$store $uid " <<<"$listing" || fail "no store '$store' owned by uid $uid on the volume: $listing"
done
key_mode=$(awk '$1 == "data_key" { print $3 }' <<<"$listing")
[[ $key_mode == 600 ]] || fail "the generated data key has mode '$key_mode' on the volume: $listing"
ok "the volume holds the stores and the data key (mode 600)"

stop_cleanly "$SINGLE"
ok "docker stop: a clean exit 0 before the timeout"

docker start "$SINGLE" >/dev/null
wait_healthy "$SINGLE" 120
port=$(published_port "$SINGLE")
http_get -o /dev/null "http://127.0.0.1:$port/healthz" || fail "GET /healthz after the restart"
stop_cleanly "$SINGLE"
ok "restarted on the same volume, stopped cleanly again"

phase "compose: NATS cluster"
env_file=$WORK/ev-rental.env
cat >"$env_file" <<EOF
EVR_AUTH__JWT_SECRET=$(random_hex 32)
EVR_AUTH__DATA_KEY=$(random_hex 32)
EVR_AUTH__ADMIN_EMAIL=admin@example.com
EVR_AUTH__ADMIN_PASSWORD=$(random_hex 12)
# For the simulator's run: a clock 120 times real time (a command's 10 s are then 5 real
# seconds, for a unit that was on the killed leader to find the next one), no limits on
# logins and registrations from one address, no e-mail confirmation.
EVR_SERVER__CLOCK_SPEEDUP=$SPEEDUP
EVR_FLEET__COMMAND_TIMEOUT_S=$((5 * SPEEDUP))
EVR_SERVER__LOGIN_PER_IP_PER_MIN=100000
EVR_SERVER__LOGIN_PER_EMAIL_PER_MIN=1000
EVR_SERVER__REGISTER_PER_IP_PER_MIN=100000
EVR_SERVER__DEVICE_REQUESTS_PER_MIN=100000
EVR_NOTIFY__REQUIRE_EMAIL_CONFIRMATION=false
EOF
export EVR_ENV_FILE=$env_file EVR_IMAGE=$IMAGE
for n in 1 2 3; do
    export "EVR_PORT_$n=$(free_port)" "NATS_MONITOR_PORT_$n=$(free_port)"
done
compose config -q || fail "compose.yaml does not validate"
ok "compose.yaml validates"
compose up -d nats-1 nats-2 nats-3 >"$WORK/compose.log" 2>&1 || { cat "$WORK/compose.log" >&2; fail "starting NATS"; }

for n in 1 2 3; do
    monitor_var=NATS_MONITOR_PORT_$n
    monitor="http://127.0.0.1:${!monitor_var}"
    wait_http "$monitor/healthz" 60
    deadline=$((SECONDS + 60))
    while :; do
        # Routes are pooled (several per peer): count the peers.
        routes=$(http_get "$monitor/routez" | json 'len({r.get("remote_name") or r["remote_id"] for r in d.get("routes") or []})') || routes=0
        meta=$(http_get "$monitor/jsz" | json '"%s %s" % ((d.get("meta_cluster") or {}).get("cluster_size", 0), (d.get("meta_cluster") or {}).get("leader", ""))') || meta='0 '
        read -r size leader <<<"$meta"
        [[ $routes -lt 2 || $size -lt 3 || -z $leader ]] || break
        ((SECONDS < deadline)) || { compose logs "nats-$n" | tail -30 >&2; fail "nats-$n: $routes peers routed, a JetStream cluster of $size, meta leader '$leader'"; }
        sleep 1
    done
    sync=$(http_get "$monitor/varz" | json 'd["jetstream"]["config"].get("sync_always", False)')
    [[ $sync == True ]] || fail "nats-$n does not fsync every write (sync_always: $sync)"
    ok "nats-$n: routes to $routes peers, a JetStream cluster of $size, meta leader $leader, sync_interval always"
done

phase "compose: ev-rental nodes"
# Cluster mode exists once the server accepts it and answers GET /v1/cluster; a node is started
# alone on the compose network to find out.
network=$(docker inspect -f '{{range $name, $_ := .NetworkSettings.Networks}}{{$name}}{{end}}' "$(compose ps -q nats-1)")
docker run -d --name "$PROBE_CONTAINER" --network "$network" --env-file "$env_file" \
    -e EVR_CLUSTER__ENABLED=true -e EVR_CLUSTER__NODE_ID=probe \
    -e EVR_CLUSTER__NATS_URLS='["nats://nats-1:4222", "nats://nats-2:4222", "nats://nats-3:4222"]' \
    -e EVR_CLUSTER__STREAM_REPLICAS=3 -p 127.0.0.1::8080 "$IMAGE" >/dev/null
cluster_route=absent
deadline=$((SECONDS + 60))
while :; do
    if [[ $(docker inspect -f '{{.State.Running}}' "$PROBE_CONTAINER") != true ]]; then
        reason="the server refused EVR_CLUSTER__ENABLED=true: $(docker logs --tail 3 "$PROBE_CONTAINER" 2>&1 | tr '\n' ' ')"
        break
    fi
    port=$(published_port "$PROBE_CONTAINER")
    if http_get -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
        code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "http://127.0.0.1:$port/v1/cluster")
        if [[ $code == 404 ]]; then
            reason="the server accepts EVR_CLUSTER__ENABLED=true but has no GET /v1/cluster (404)"
        else
            cluster_route=present
        fi
        break
    fi
    if ((SECONDS >= deadline)); then
        reason="a node in cluster mode did not answer /healthz within 60 s"
        break
    fi
    sleep 1
done
docker rm -f -v "$PROBE_CONTAINER" >/dev/null

if [[ $cluster_route != present ]]; then
    echo "NOTE: the ev-rental nodes of compose.yaml are not exercised: $reason." >&2
    echo "NOTE: the NATS cluster they would use was checked above." >&2
else
    compose up -d --no-build ev-rental-1 ev-rental-2 ev-rental-3 >"$WORK/compose.log" 2>&1 \
        || { cat "$WORK/compose.log" >&2; fail "starting the ev-rental nodes"; }
    admin_password=$(sed -n 's/^EVR_AUTH__ADMIN_PASSWORD=//p' "$env_file")
    leaders=()
    leading=()
    for n in 1 2 3; do
        container=$(compose ps -q "ev-rental-$n")
        if probe_supported; then
            wait_healthy "$container" 120
        fi
        port_var=EVR_PORT_$n
        base="http://127.0.0.1:${!port_var}"
        wait_http "$base/healthz" 120
        # The cluster's state may be for administrators only: ask with a token where the node
        # gives one (a follower answers 503 and names the leader; GET /v1/cluster needs none).
        token=$(curl -fsSL --max-time 10 -H 'content-type: application/json' \
            -d "{\"email\":\"admin@example.com\",\"password\":\"$admin_password\"}" \
            "$base/v1/auth/token" 2>/dev/null | json 'd["access_token"]' 2>/dev/null) || token=''
        deadline=$((SECONDS + 60))
        until state=$(http_get -L ${token:+-H "authorization: Bearer $token"} "$base/v1/cluster"); do
            ((SECONDS < deadline)) || fail "ev-rental-$n: GET /v1/cluster did not answer 2xx within 60 s"
            sleep 1
        done
        leader=$(json '(d.get("leader") or {}).get("node_id") or ""' <<<"$state")
        role=$(json 'd.get("role") or ""' <<<"$state")
        echo "ev-rental-$n: $state"
        [[ -n $leader ]] && leaders+=("$leader")
        [[ $role == leader ]] && leading+=("ev-rental-$n")
        ok "ev-rental-$n answers GET /v1/cluster${leader:+, leader $leader}"
    done
    if ((${#leaders[@]} > 0)); then
        [[ $(printf '%s\n' "${leaders[@]}" | sort -u | wc -l) == 1 ]] \
            || fail "the nodes disagree on the leader: ${leaders[*]}"
        ok "the three nodes agree on the leader ${leaders[0]}"
    fi
    ((${#leading[@]} == 1)) || fail "exactly one node must lead; leading: ${leading[*]:-none}"
    ok "one node leads: ${leading[0]}"

    phase "compose: a simulator run through a killed leader"
    simulator=${SIMULATOR:-}
    if [[ -z $simulator ]]; then
        cargo build --quiet -p simulator --bin simulator || fail "building the simulator"
        simulator=$(cargo metadata --format-version 1 --no-deps | json 'd["target_directory"]')/debug/simulator
    fi
    targets=()
    for n in 1 2 3; do
        port_var=EVR_PORT_$n
        targets+=("http://127.0.0.1:${!port_var}")
    done
    old=${leading[0]}
    old_port_var=EVR_PORT_${old##*-}
    old_url="http://127.0.0.1:${!old_port_var}"
    # Only the simulator's own settings: the variables this script exported are not ev-rental's.
    env -i PATH="$PATH" HOME="$HOME" RUST_LOG=warn \
        EVR_AUTH__ADMIN_EMAIL=admin@example.com EVR_AUTH__ADMIN_PASSWORD="$admin_password" \
        "$simulator" --config /dev/null --target "$(IFS=,; echo "${targets[*]}")" \
        --cars 36 --customers 48 --duration 60m --seed 11 --json \
        >"$WORK/report.json" 2>"$WORK/simulator.log" &
    simulator_pid=$!
    token=$(curl -fsSL --max-time 10 -H 'content-type: application/json' \
        -d "{\"email\":\"admin@example.com\",\"password\":\"$admin_password\"}" \
        "$old_url/v1/auth/token" | json 'd["access_token"]') || fail "an admin token from the leader"
    deadline=$((SECONDS + 120))
    booked=0
    while ((booked < BOOKED_BEFORE_KILL)); do
        kill -0 "$simulator_pid" 2>/dev/null || { tail -20 "$WORK/simulator.log" >&2; fail "the simulator stopped before the kill"; }
        ((SECONDS < deadline)) || fail "only $booked reservations on the leader after 120 s"
        sleep 0.5
        booked=$(http_get -H "authorization: Bearer $token" "$old_url/v1/reservations?limit=200" \
            | json 'len(d.get("items") or [])') || booked=0
    done
    killed_at=$(date +%s.%N)
    docker kill --signal KILL "$(compose ps -q "$old")" >/dev/null
    ok "$old (the leader) killed with SIGKILL with $booked reservations booked"
    new_leader=''
    deadline=$((SECONDS + 60))
    while [[ -z $new_leader ]]; do
        ((SECONDS < deadline)) || fail "no other node led within 60 s of the kill"
        for url in "${targets[@]}"; do
            [[ $url == "$old_url" ]] && continue
            state=$(curl -fsS --max-time 2 -L -H "authorization: Bearer $token" "$url/v1/cluster" 2>/dev/null) || continue
            if [[ $(json 'd.get("role") or ""' <<<"$state") == leader ]]; then
                new_leader=$(json '(d.get("leader") or {}).get("node_id") or ""' <<<"$state")
                break
            fi
        done
        [[ -n $new_leader ]] || sleep 0.2
    done
    took=$(python3 -c "import time; print('%.1f' % (time.time() - $killed_at))")
    ok "$new_leader leads, serving $took s after the kill"
    status=0
    wait "$simulator_pid" || status=$?
    [[ -s $WORK/report.json ]] || { tail -30 "$WORK/simulator.log" >&2; fail "the simulator wrote no report (exit $status)"; }
    verdict=$(python3 - "$WORK/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
failover = {"finish/transport", "cancel/transport", "unlock/car-timeout", "lock/car-timeout"}
problems = []
if report["missing_reservations"]:
    problems.append("acknowledged reservations lost: %s" % report["missing_reservations"])
problems += ["audit: " + v for v in report["audit"]["violations"]]
problems += ["run: " + v for v in report["violations"]]
unexpected = {k: n for k, n in report["errors"].items() if k not in failover}
if unexpected:
    problems.append("unexpected errors: %s (%s)" % (unexpected, report["error_examples"][:3]))
ops = {op["op"]: op for op in report["operations"]}
pauses = report.get("longest_pause_s") or {}
summary = "reserve %d ok, unlock %d ok, errors %s; longest pause between two bookings %s s, between two unlocks %s s" % (
    ops.get("reserve", {}).get("ok", 0), ops.get("unlock", {}).get("ok", 0), report["errors"] or "none",
    pauses.get("reserve", "-"), pauses.get("unlock", "-"))
print("FAIL " + "; ".join(problems) if problems else "OK " + summary)
PY
    )
    [[ $verdict == OK* ]] || { tail -20 "$WORK/simulator.log" >&2; fail "the run through the failover: ${verdict#FAIL }"; }
    ok "the simulator's run through the failover: 0 acknowledged reservations lost, no violation; ${verdict#OK }"
fi
phase ""
