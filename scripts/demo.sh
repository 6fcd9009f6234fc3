#!/usr/bin/env bash
# Keel's main job on the embedded SQLite default: migrate ./keel.db, then walk through the
# use cases with the CLI and print what happened. Safe to run again: each run adds new users.
set -euo pipefail

field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
step() { printf '\n== %s\n' "$*"; }

run_id=$(date +%s)

step "migrate the database"
keel db upgrade

step "register two users"
alice=$(keel users register --email "alice.$run_id@example.com" --username "alice_$run_id" --json | field id)
bob=$(keel users register --email "bob.$run_id@example.com" --username "bob_$run_id" --json | field id)
echo "alice is user $alice"
echo "bob is user $bob"

step "open a wallet for each"
alice_wallet=$(keel wallets open "$alice" --json | field id)
bob_wallet=$(keel wallets open "$bob" --json | field id)
keel wallets show "$alice_wallet"
keel wallets show "$bob_wallet"

step "deposit 100 credits into alice's wallet"
keel wallets deposit "$alice_wallet" 100

step "transfer 30.50 credits from alice to bob"
keel wallets transfer --from "$alice_wallet" --to "$bob_wallet" 30.50

step "try to transfer more than alice holds: refused, nothing changes"
if keel wallets transfer --from "$alice_wallet" --to "$bob_wallet" 1000; then
    echo "unexpected: the overdraft was accepted" >&2
    exit 1
fi
keel wallets show "$alice_wallet"

step "alice's statement, newest first"
keel wallets statement "$alice_wallet"

step "bob's wallet as JSON, for scripts"
keel wallets show "$bob_wallet" --json
echo
