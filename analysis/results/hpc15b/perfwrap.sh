#!/bin/sh
exec perf record -F 4000 -o /tmp/hpc15b/perf.$PMI_RANK.data -- "$@"
