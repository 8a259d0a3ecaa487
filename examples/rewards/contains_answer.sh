#!/bin/sh
# contains_answer.sh — a fluxrl reward program in shell (reward.outcome = command; docs/protocol.md):
# reward 1 when the gold answer appears, as a whole number or word, in the text after the last
# </think>; else 0. jq reads the request lines from stdin and writes one result line per request,
# unbuffered, so fluxrl can pipeline many requests.
#   --set reward.outcome=command --set reward.command="sh examples/rewards/contains_answer.sh"
exec jq -c --unbuffered '
  (.response | split("</think>") | last) as $tail
  | (.answer | tostring) as $a
  | {id: .id,
     reward: (if $a != "" and ($tail | test("(^|[^0-9A-Za-z.])" + ($a | gsub("[.*+?^${}()|\\[\\]\\\\]"; "\\\\\(.)")) + "([^0-9A-Za-z]|[.]?$)"))
              then 1 else 0 end)}'
