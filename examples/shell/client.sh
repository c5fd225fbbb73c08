#!/bin/sh
# A minimal exec-protocol client (docs/clients.md) in POSIX shell, for a toy system: a register
# per key, one file per key in STORE_DIR (default /tmp/faultline-shell-store), each operation
# under flock(1) so that any number of client processes share it linearizably.
#
#   faultline test --db exec --client-command 'sh examples/shell/client.sh /tmp/my-store' \
#     --workload register --time-limit 10
#
# It reads the register workload's ops ({"f":"write","index":7,"process":0,"type":"invoke",
# "value":[3,4]}: keys in that order, as faultline writes them) with sed, which is all a shell
# client needs for flat values.
store="${1:-/tmp/faultline-shell-store}"
mkdir -p "$store"

read -r hello || exit 1
echo '{"type":"ready"}'

while read -r op; do
  f=$(printf '%s' "$op" | sed -n 's/.*"f":"\([a-z]*\)".*/\1/p')
  value=$(printf '%s' "$op" | sed -n 's/.*"value":\[\(.*\)\]}$/\1/p')
  key=${value%%,*}
  argument=${value#*,}
  file="$store/$key"
  case "$f" in
    read)
      current=$(flock "$file.lock" cat "$file" 2>/dev/null)
      echo "{\"type\":\"ok\",\"value\":[$key,${current:-null}]}" ;;
    write)
      flock "$file.lock" sh -c 'printf %s "$1" > "$2"' sh "$argument" "$file"
      echo '{"type":"ok"}' ;;
    cas)
      expected=$(printf '%s' "$argument" | sed 's/^\[\(.*\),.*\]$/\1/')
      new=$(printf '%s' "$argument" | sed 's/^\[.*,\(.*\)\]$/\1/')
      if flock "$file.lock" sh -c '[ "$(cat "$2" 2>/dev/null)" = "$1" ] && printf %s "$3" > "$2"' \
          sh "$expected" "$file" "$new"; then
        echo '{"type":"ok"}'
      else
        echo '{"type":"fail","error":"compare failed"}'
      fi ;;
    *)
      echo "{\"type\":\"fail\",\"error\":\"unknown f $f\"}" ;;
  esac
done
