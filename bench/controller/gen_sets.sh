#!/usr/bin/env bash
# gen_sets.sh N: the RESP for SET key:<i> <16-byte value> for i in 0..N-1, for redis-cli --pipe.
exec awk -v n="$1" 'BEGIN {
  for (i = 0; i < n; i++) {
    k = "key:" i; v = sprintf("value-%010d", i)
    printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
  }
}'
