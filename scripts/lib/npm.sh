# shellcheck shell=bash
# Sourced by scripts/lib/browser.sh and scripts/test: the npm packages of a test directory
# (tests/browser, tests/js) at the versions its package-lock.json pins, reinstalled only when
# the lock changes so that a warm run does not touch the network. --ignore-scripts: no install
# step may fetch anything of its own (a browser build, say).
npm_ci_locked() {
    local dir=$1
    # The oldest Node.js the pinned packages run on is package.json's engines.node (">=N");
    # the Python side of the tests reads the same field.
    local major least
    major=$(node -p 'process.versions.node.split(".")[0]')
    least=$(node -p "require('$dir/package.json').engines.node.replace(/^>=\\s*/, '')")
    if [[ ! $least =~ ^[0-9]+$ ]]; then
        echo "$dir/package.json: engines.node must read >=N" >&2
        return 1
    fi
    if ((major < least)); then
        echo "$dir needs Node.js $least or later; this is $(node --version)" >&2
        return 1
    fi
    local want stamp
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    stamp=$dir/node_modules/.package-lock.sha256
    if [[ $(cat "$stamp" 2>/dev/null || true) != "$want" ]]; then
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || return 1
        echo "$want" >"$stamp"
    fi
}
