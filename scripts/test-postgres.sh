#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a loopback port for the PostgreSQL tests, without systemd.
#
#   bash scripts/test-postgres.sh run [COMMAND ...]   start a cluster, run COMMAND (default:
#                                                     cargo test) with the variables below
#                                                     exported, stop the cluster at the end
#   eval "$(bash scripts/test-postgres.sh start)"     start one and export the variables into
#                                                     your shell; `cargo test` then runs the
#                                                     PostgreSQL tests too
#   bash scripts/test-postgres.sh stop                stop the cluster `start` left running
#
# Exported for the tests:
#   ROUTEGUIDE_TEST_POSTGRES_URL   postgres://routeguide:not-a-secret@127.0.0.1:PORT/routeguide_test
#                                  (the cluster trusts loopback; the password is there so tests
#                                  can check that it never reaches a log)
#   ROUTEGUIDE_TEST_POSTGRES_DATA  the data directory (tests stop and start the cluster)
#   ROUTEGUIDE_TEST_POSTGRES_BIN   the directory of pg_ctl
# Settings: ROUTEGUIDE_TEST_POSTGRES_PORT (default 55432), ROUTEGUIDE_TEST_POSTGRES_DIR
# (default /tmp/routeguide-test-postgres-PORT). Needs Debian's `postgresql` package
# (apt-get install -y postgresql). As root, the cluster runs as the `postgres` user.
set -euo pipefail

port="${ROUTEGUIDE_TEST_POSTGRES_PORT:-55432}"
dir="${ROUTEGUIDE_TEST_POSTGRES_DIR:-/tmp/routeguide-test-postgres-$port}"
data="$dir/data"

bin_dir() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -z "$found" || ! -x "$found/pg_ctl" ]]; then
        echo "test-postgres: no PostgreSQL server found under /usr/lib/postgresql;" \
            "install it with: apt-get install -y postgresql" >&2
        return 1
    fi
    echo "$found"
}

# Runs a PostgreSQL program as the cluster's owner (`postgres` when we are root).
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local bin
    bin="$(bin_dir)"
    if as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        echo "test-postgres: stopping the cluster left running in $data" >&2
        as_owner "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "test-postgres: port $port is in use; set ROUTEGUIDE_TEST_POSTGRES_PORT" >&2
        return 1
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; return 1; }
    # The settings live in the cluster's own file, so that a test can stop and start it with
    # a bare `pg_ctl -D DIR start`; the -o options below say the same for the log.
    cat >>"$data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
EOF
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -w start >/dev/null ||
        { cat "$dir/server.log" >&2; return 1; }
    as_owner "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE routeguide LOGIN PASSWORD 'not-a-secret'" \
        -c "CREATE DATABASE routeguide_test OWNER routeguide" >/dev/null
    echo "export ROUTEGUIDE_TEST_POSTGRES_URL=postgres://routeguide:not-a-secret@127.0.0.1:$port/routeguide_test"
    echo "export ROUTEGUIDE_TEST_POSTGRES_DATA=$data"
    echo "export ROUTEGUIDE_TEST_POSTGRES_BIN=$bin"
}

stop() {
    local bin
    bin="$(bin_dir)"
    if [[ -d "$data" ]]; then
        as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$dir"
    fi
}

case "${1:-run}" in
    start) start ;;
    stop) stop ;;
    run)
        shift || true
        [[ $# -gt 0 ]] || set -- cargo test
        exports="$(start)"
        trap stop EXIT
        eval "$exports"
        echo "test-postgres: cluster on 127.0.0.1:$port ($data)" >&2
        "$@"
        ;;
    *)
        echo "usage: $0 run [COMMAND ...] | start | stop" >&2
        exit 2
        ;;
esac
