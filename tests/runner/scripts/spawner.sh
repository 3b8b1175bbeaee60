#!/bin/sh
# Starts children that would outlive the trial (and hold its stdout open), then ends or waits.
sleep 300 &
echo $! > "$HPSWEEP_TRIAL_DIR/child.pid"
sh -c 'sleep 300' &
echo $! >> "$HPSWEEP_TRIAL_DIR/child.pid"
echo 'hpsweep: {"result": 1}'
if [ "$1" = wait ]; then wait; fi
