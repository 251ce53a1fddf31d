# shellcheck shell=bash
# Sourced by scripts/test: what the dashboard's browser tests (tests/clients/test_dashboard.py)
# need. Chromium and node come from Debian (.ci/run installs them); playwright-core comes from
# npm at the version tests/browser/package-lock.json pins, reinstalled only when the lock
# changes, so a warm run does not touch the network. --ignore-scripts: no install step may
# fetch a browser build of its own; the tests drive /usr/bin/chromium.
# shellcheck source=scripts/lib/npm.sh
source "$(dirname "${BASH_SOURCE[0]}")/npm.sh"
ensure_browser_tools() {
    local root=$1
    local dir=$root/tests/browser
    local chromium=${FARMHAND_CHROMIUM:-/usr/bin/chromium}
    local missing=()
    command -v node >/dev/null || missing+=("node (apt-get install nodejs)")
    command -v npm >/dev/null || missing+=("npm (apt-get install npm)")
    [[ -x $chromium ]] || missing+=("$chromium (apt-get install chromium)")
    if ((${#missing[@]})); then
        echo "the browser tests need: ${missing[*]}" >&2
        return 1
    fi
    npm_ci_locked "$dir" || return 1
    local version
    version=$(node -p "require('$dir/node_modules/playwright-core/package.json').version")
    # Debian's wrapper script prints a shell warning of its own on some machines: keep stdout.
    echo "node $(node --version), $("$chromium" --version 2>/dev/null), playwright-core $version"
}
