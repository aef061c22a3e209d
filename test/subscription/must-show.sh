#!/usr/bin/env bash
# Issue 16's "Must show" as a user types it, after `demo up --maas subscription`. Prints one tagged
# line per result (never the key); the test reads them. Needs: demo (DEMO_BIN), curl, node.
set -uo pipefail
demo() { node "$DEMO_BIN" "$@"; }
j() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const v=eval(process.argv[1]);console.log(typeof v==="string"?v:JSON.stringify(v))})' "$1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

eval "$(demo env)"
echo "ENV $MAAS_GENERATION $MAAS_SUBSCRIPTION $DATABASE_URL"
CURL=(curl -sS --cacert "$CA_FILE")

# 1. a key for the subscription (201, sk-oai-…)
code=$("${CURL[@]}" -o "$tmp/mint" -w '%{http_code}' -X POST "https://$HOST/maas-api/v1/api-keys" \
  -H "Authorization: Bearer $CLUSTER_TOKEN" -H 'Content-Type: application/json' \
  -d "{\"name\":\"must-show\",\"subscription\":\"$MAAS_SUBSCRIPTION\"}")
echo "MINT $code $(j 'j.key.slice(0,7)' < "$tmp/mint") $(j 'j.subscription' < "$tmp/mint")"
KEY=$(j 'j.key' < "$tmp/mint"); ID=$(j 'j.id' < "$tmp/mint")
echo "ID $ID"

# 2. /v1/models with it lists every model
MODELS=$("${CURL[@]}" "https://$HOST/v1/models" -H "Authorization: Bearer $KEY" | j 'j.data.map(m=>m.id).join(" ")')
echo "MODELS $MODELS"

# 3. a body-routed chat for each listed model, answered in OpenAI's shape
for m in $MODELS; do
  code=$("${CURL[@]}" -o "$tmp/chat" -w '%{http_code}' "https://$HOST/v1/chat/completions" -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' -d "{\"model\":\"$m\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}],\"max_tokens\":5}")
  echo "CHAT $m $code $(j 'j.object+"/"+typeof j.choices[0].message.content+"/"+typeof j.usage.total_tokens' < "$tmp/chat")"
  echo "USAGE $m $(j 'j.usage.total_tokens' < "$tmp/chat")"
done

# 4. a bogus key → 403, no credentials → 401
echo "FAKE $("${CURL[@]}" -o /dev/null -w '%{http_code}' "https://$HOST/v1/chat/completions" -H 'Authorization: Bearer sk-oai-FAKE-KEY' \
  -H 'Content-Type: application/json' -d '{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}')"
echo "NOAUTH $("${CURL[@]}" -o /dev/null -w '%{http_code}' "https://$HOST/v1/chat/completions" \
  -H 'Content-Type: application/json' -d '{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}')"

# 5. streams without include_usage, until 429 (the last listed model)
LAST=$(echo "$MODELS" | tr ' ' '\n' | tail -1)
for i in $(seq 1 40); do
  code=$("${CURL[@]}" -o "$tmp/sse" -w '%{http_code}' "https://$HOST/v1/chat/completions" -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' -d "{\"model\":\"$LAST\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"tell me a story\"}],\"max_tokens\":20}")
  usage=$(grep -o '"total_tokens":[0-9]*' "$tmp/sse" | tail -1 | cut -d: -f2)
  echo "STREAM $i $code ${usage:-0}"
  [ "$code" = 429 ] && break
done

# 6. revoke it: 200, and the key then gets 403 (once the identity cache lets go of it)
code=$("${CURL[@]}" -o "$tmp/del" -w '%{http_code}' -X DELETE "https://$HOST/maas-api/v1/api-keys/$ID" -H "Authorization: Bearer $CLUSTER_TOKEN")
echo "DELETE $code $(j 'j.status' < "$tmp/del")"
for i in $(seq 1 40); do
  code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "https://$HOST/v1/models" -H "Authorization: Bearer $KEY")
  [ "$code" = 403 ] && break
  sleep 0.25
done
echo "REVOKED $code"

# 7. once the stream budget's window has passed: demo validate passes, demo doctor is clean
sleep "${WAIT_SECONDS:-0}"
demo validate --output plain > "$tmp/validate" 2>&1; echo "VALIDATE $?"; grep -E '^[×‼]' "$tmp/validate" | sed 's/^/  /'
demo doctor --output plain > "$tmp/doctor" 2>&1; echo "DOCTOR $?"; grep -E '^[×‼]|failed:' "$tmp/doctor" | sed 's/^/  /'
[ -n "${KEY_OUT:-}" ] && printf '%s' "$KEY" > "$KEY_OUT"
exit 0
