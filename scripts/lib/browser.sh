# shellcheck shell=bash
# Sourced by scripts/test: what the dashboard's browser tests (tests/clients/test_dashboard.py)
# need. Chromium and node come from Debian (.ci/run installs them); playwright-core comes from
# npm at the version tests/browser/package-lock.json pins, reinstalled only when the lock
# changes, so a warm run does not touch the network. --ignore-scripts: no install step may
# fetch a browser build of its own; the tests drive /usr/bin/chromium.
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
    # The oldest Node.js the pinned playwright-core runs on is package.json's engines.node
    # (">=18": Debian bookworm's own nodejs); tests/clients/browser.py reads the same field.
    local major least
    major=$(node -p 'process.versions.node.split(".")[0]')
    least=$(node -p "require('$dir/package.json').engines.node.replace(/^>=\\s*/, '')")
    if [[ ! $least =~ ^[0-9]+$ ]]; then
        echo "tests/browser/package.json: engines.node must read >=N" >&2
        return 1
    fi
    if ((major < least)); then
        echo "the browser tests need Node.js $least or later; this is $(node --version)" >&2
        return 1
    fi
    local want stamp
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    stamp=$dir/node_modules/.package-lock.sha256
    if [[ $(cat "$stamp" 2>/dev/null || true) != "$want" ]]; then
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || return 1
        echo "$want" >"$stamp"
    fi
    local version
    version=$(node -p "require('$dir/node_modules/playwright-core/package.json').version")
    # Debian's wrapper script prints a shell warning of its own on some machines: keep stdout.
    echo "node $(node --version), $("$chromium" --version 2>/dev/null), playwright-core $version"
}
