#!/usr/bin/env bash
# Keel's main job on the embedded SQLite default: migrate ./keel.db, then walk through the
# use cases with the CLI and print what happened. Safe to run again: each run adds new users
# and a new task.
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

step "transfer 30.50 credits from alice to bob, sent twice with one idempotency key: applied once"
key="demo-transfer-$(date +%s%N)"
keel wallets transfer --from "$alice_wallet" --to "$bob_wallet" 30.50 --idempotency-key "$key"
keel wallets transfer --from "$alice_wallet" --to "$bob_wallet" 30.50 --idempotency-key "$key"

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

step "alice posts a task with a bounty of 25 credits: it leaves her wallet for escrow"
task=$(keel tasks create --creator "$alice" --title "Write the release notes ($run_id)" \
    --bounty 25 --json | field id)
keel tasks show "$task"
keel wallets show "$alice_wallet"
keel wallets show "$bob_wallet"

step "assign the task to bob, start it and complete it"
keel tasks assign "$task" --to "$bob"
keel tasks start "$task"
keel tasks complete "$task"

step "bob was paid the bounty"
keel wallets show "$bob_wallet"

step "alice's statement shows the bounty leaving her wallet for escrow"
keel wallets statement "$alice_wallet"

step "every committed unit left its events in the outbox; the relay delivers them"
keel outbox status
keel outbox relay
