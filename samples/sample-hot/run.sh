#!/bin/sh
# abaco's hot protocol: one JSON line per message on stdin; the line {"_abaco_done": <code>}
# on stdout ends the message. This sample counts the messages its container has handled,
# so its logs show that the container stayed up. It reads MSG with the shell alone (no
# process per message), which is enough for messages without quotes or backslashes.
#   MSG=crash  the container exits with 3 in the middle of the message
#   MSG=hang   never finishes (for the actor's maxRunTime)
#   MSG=fail   finishes with exit code 5
#   MSG=slow   takes three seconds, then goes on as any other message
#   otherwise  prints the message and sends "hot: MSG" to the results socket
# A binary message prints its size and its first and last eight bytes in hex.
if [ "$_abaco_hot" != 1 ]; then
  echo "sample-hot runs as a hot actor: register it with hints [\"hot\"]"
  exit 2
fi
handled=0
while IFS= read -r request; do
  handled=$((handled + 1))
  msg=${request#*\"MSG\":\"}
  msg=${msg%%\"*}
  execution=${request#*\"execution_id\":\"}
  execution=${execution%%\"*}
  case "$request" in
    *'"binary":"'*)
      data=${request#*\"binary\":\"}
      data=${data%%\"*}
      size=$(printf '%s' "$data" | base64 -d | wc -c)
      first=$(printf '%s' "$data" | base64 -d | head -c 8 | od -An -tx1 | tr -d ' \n')
      last=$(printf '%s' "$data" | base64 -d | tail -c 8 | od -An -tx1 | tr -d ' \n')
      echo "binary: $size bytes, first $first, last $last"
      echo '{"_abaco_done": 0}'
      continue
      ;;
  esac
  case "$msg" in
    crash)
      echo "crashing on purpose"
      exit 3
      ;;
    hang)
      echo "hanging"
      sleep 3600
      ;;
    fail)
      echo "failing on purpose"
      echo '{"_abaco_done": 5}'
      continue
      ;;
    slow)
      sleep 3
      ;;
  esac
  echo "message $handled of this container: $msg (execution $execution, greeting ${GREETING:-none})"
  MSG="hot: $msg" abaco-send
  echo '{"_abaco_done": 0}'
done
