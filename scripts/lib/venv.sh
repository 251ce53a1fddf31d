# shellcheck shell=bash
# Sourced by scripts/test and scripts/bench: the Python venv (.venv) with the pinned real
# clients (boto3, awscli), pytest and moto, reinstalled only when the pins change so that a
# warm run does not touch the network.
ensure_venv() {
    local root=$1
    local venv=$root/.venv
    local requirements=$root/tests/clients/requirements.txt
    if [[ ! -x $venv/bin/python ]]; then
        python3 -m venv "$venv"
    fi
    local want stamp
    want=$(sha256sum "$requirements" | cut -d' ' -f1)
    stamp=$venv/.requirements.sha256
    if [[ $(cat "$stamp" 2>/dev/null || true) != "$want" ]]; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
        echo "$want" >"$stamp"
    fi
}
