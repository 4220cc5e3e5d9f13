#!/bin/sh
exec perf record -q -F 2000 -o /tmp/pl15b/perf.$PMI_RANK.data -- "$@"
