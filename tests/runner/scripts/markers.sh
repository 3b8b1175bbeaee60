#!/bin/sh
# A trial in shell that reports through marker lines on stdout: $1 steps, one every $2 seconds.
i=0
while [ "$i" -lt "$1" ]; do
    echo "epoch $i done"
    echo "hpsweep: {\"step\": $i, \"value\": 0.$i}"
    sleep "$2"
    i=$((i + 1))
done
echo 'hpsweep: {"result": 0.25}'
