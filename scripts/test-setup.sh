#!/usr/bin/env bash
# Installs and starts what the test suite needs on a Debian or Ubuntu machine, asking nothing:
# Debian packages (Chromium and fonts for the browser tests, PostgreSQL, nginx, Node.js), a running
# PostgreSQL cluster with the role the tests log in as, and the Node packages of the test servers.
# The Python packages come from `make install`. A prepared machine only runs the checks (about 1 s).
# Where something cannot be installed, it stops with one sentence saying what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test-setup: %s\n' "$*"; }
stop() {
  printf 'test-setup: %s\n' "$*" >&2
  exit 1
}

# Debian's packages the suite uses, each with a command or file that proves it is there.
# chromium: browser tests (Playwright drives /usr/bin/chromium, nothing is downloaded);
# fonts-noto-core, fonts-liberation: Latin, Cyrillic, Greek, Arabic and Persian text in screenshots;
# postgresql: the second database; nginx-light: the reverse-proxy test; nodejs, npm: the OpenID
# provider the single-sign-on tests start; python3-venv: the environment `make install` creates.
PACKAGES=(python3-venv chromium fonts-noto-core fonts-liberation libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 postgresql postgresql-client nginx-light nodejs npm)

if [ ! -r /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
  stop "This set-up supports Debian and Ubuntu only; elsewhere install Chromium, PostgreSQL 15 or newer, nginx, Node.js with npm and the Noto fonts, start PostgreSQL on 127.0.0.1:5432 with a role lotse_test (password lotse_test, CREATEDB), and run 'make test' again."
fi

if [ "$(id -u)" = 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  SUDO=(false)
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# Node.js and npm may come from elsewhere (NodeSource ships both in one package): a command counts.
present() {
  case "$1" in
    nodejs) command -v node >/dev/null 2>&1 ;;
    npm) command -v npm >/dev/null 2>&1 ;;
    python3-venv) python3 -c 'import ensurepip, venv' >/dev/null 2>&1 ;;
    *) installed "$1" ;;
  esac
}

missing=()
for package in "${PACKAGES[@]}"; do
  present "$package" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  [ "${SUDO[0]:-}" = false ] &&
    stop "Missing Debian packages (${missing[*]}) and no root or password-less sudo: run 'sudo apt-get install ${missing[*]}' once, then 'make test' again."
  say "installing from the package archive: ${missing[*]}"
  apt_get=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
  "${apt_get[@]}" update >/dev/null ||
    stop "'apt-get update' failed: check the machine's package sources, then 'make test' again."
  if ! "${apt_get[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    if [[ " ${missing[*]} " == *" chromium "* ]] && grep -qi ubuntu /etc/os-release; then
      stop "Ubuntu has no Debian chromium package: 'sudo snap install chromium' and set LOTSE_CHROMIUM=/snap/bin/chromium, then 'make test' again."
    fi
    stop "Installing ${missing[*]} failed: run 'sudo apt-get install ${missing[*]}' to see why."
  fi
fi

CHROMIUM=${LOTSE_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || stop "Chromium is not at $CHROMIUM: install Debian's chromium package or set LOTSE_CHROMIUM."

# PostgreSQL: the cluster running, and a role the tests can log in as over TCP with a password,
# which works with Debian's default scram authentication as well as with trust.
PG_HOST=127.0.0.1
PG_PORT=5432
if ! pg_isready -h "$PG_HOST" -p "$PG_PORT" -q; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || stop "PostgreSQL is installed but has no cluster: run 'sudo pg_createcluster --start 15 main'."
  say "starting PostgreSQL $version"
  [ "${SUDO[0]:-}" = false ] && stop "PostgreSQL is not running: run 'sudo pg_ctlcluster $version main start'."
  "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
    stop "PostgreSQL $version did not start: see 'sudo pg_lsclusters' and its log under /var/log/postgresql."
  for _ in $(seq 1 30); do pg_isready -h "$PG_HOST" -p "$PG_PORT" -q && break; sleep 0.5; done
  pg_isready -h "$PG_HOST" -p "$PG_PORT" -q || stop "PostgreSQL did not accept connections on $PG_HOST:$PG_PORT within 15 s."
fi

TEST_ROLE=lotse_test
if ! PGPASSWORD=$TEST_ROLE psql -h "$PG_HOST" -p "$PG_PORT" -U "$TEST_ROLE" -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
  say "creating the PostgreSQL role $TEST_ROLE (may create databases) for the tests"
  as_postgres=("${SUDO[@]}")
  if [ "$(id -u)" = 0 ]; then as_postgres=(runuser -u postgres --); else as_postgres+=(-u postgres); fi
  [ "${SUDO[0]:-}" = false ] &&
    stop "The tests need a PostgreSQL role: run sudo -u postgres psql -c \"CREATE ROLE $TEST_ROLE LOGIN CREATEDB PASSWORD '$TEST_ROLE'\"."
  "${as_postgres[@]}" psql -q -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL ||
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TEST_ROLE') THEN
    CREATE ROLE $TEST_ROLE LOGIN CREATEDB PASSWORD '$TEST_ROLE';
  ELSE
    ALTER ROLE $TEST_ROLE LOGIN CREATEDB PASSWORD '$TEST_ROLE';
  END IF;
END \$\$;
SQL
    stop "Could not create the PostgreSQL role $TEST_ROLE as the postgres user."
  PGPASSWORD=$TEST_ROLE psql -h "$PG_HOST" -p "$PG_PORT" -U "$TEST_ROLE" -d postgres -Atqc 'select 1' >/dev/null 2>&1 ||
    stop "The role $TEST_ROLE cannot log in on $PG_HOST:$PG_PORT: allow it in pg_hba.conf ('host all all 127.0.0.1/32 scram-sha-256')."
fi

# Node packages of the test servers, reinstalled only when their lock file changes.
for lock in tests/*/package-lock.json; do
  [ -e "$lock" ] || continue
  dir=$(dirname "$lock")
  stamp="$dir/node_modules/.installed-$(sha1sum "$lock" | cut -c1-12)"
  if [ ! -e "$stamp" ]; then
    say "installing the Node packages of $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null ||
      stop "'npm ci --prefix $dir' failed: the npm registry must be reachable once."
    rm -f "$dir"/node_modules/.installed-*
    touch "$stamp"
  fi
done

say "ready: $("$CHROMIUM" --version 2>/dev/null | head -n 1), $(psql --version | head -n 1), PostgreSQL on $PG_HOST:$PG_PORT"
