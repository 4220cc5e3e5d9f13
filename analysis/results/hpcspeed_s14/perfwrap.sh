#!/bin/sh
exec perf record -q -F 2000 -o /tmp/hpcspeed/perf.$PMI_RANK.data -- "$@"
