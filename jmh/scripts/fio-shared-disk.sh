#!/usr/bin/env bash
# What object uploads on the WAL's own disk cost the WAL, measured with fio alone (no Strata code):
# a WAL-like job (O_DIRECT + O_DSYNC writes of 48 KiB, 4 in flight, io_uring: about what the WAL
# writes per group at 4 KiB appends) runs alone, then beside an upload-like job (two writers of
# 1 MiB O_DIRECT writes at RATE each, an fsync every 64 MiB: what LocalObjectStorage does when the
# embedded default keeps its objects on the WAL's disk). Alternates ROUNDS times; prints the
# WAL-like job's throughput and latency for each run.
# Usage: fio-shared-disk.sh [DIR] [SECONDS] [ROUNDS] [RATE]   (defaults: a temp dir here, 8, 2, 150m)
set -euo pipefail
if [ -n "${1:-}" ]; then DIR=$1; MADE=""; else DIR=$(mktemp -d -p "$PWD" fio-shared.XXXX); MADE=$DIR; fi
SECS=${2:-8}
ROUNDS=${3:-2}
RATE=${4:-150m}
command -v fio >/dev/null || { apt-get update -qq && apt-get install -y -qq fio >/dev/null; }
command -v python3 >/dev/null || { echo "python3 needed to parse fio output" >&2; exit 2; }
WAL="$DIR/fio-wal.dat"
trap 'rm -f "$WAL" "$DIR"/fio-upload.*; [ -z "$MADE" ] || rmdir "$MADE"' EXIT
# Lay the WAL file out first, as the WAL preallocates and writes its file.
fio --name=layout --filename="$WAL" --size=2G --rw=write --bs=1M --direct=1 --ioengine=psync \
    --output-format=json >/dev/null
wal_job=(--name=wal --filename="$WAL" --size=2G --rw=write --bs=48k --iodepth=4 --ioengine=io_uring
         --direct=1 --sync=dsync --time_based --runtime="$SECS")
upload_job=(--name=upload --directory="$DIR" --filename_format='fio-upload.$jobnum' --size=4G --rw=write
            --bs=1M --ioengine=psync --direct=1 --numjobs=2 --rate="$RATE" --fsync=64 --time_based
            --runtime="$SECS")
report() { # label, then reads fio json on stdin
  python3 -c '
import json,sys
for j in json.load(sys.stdin)["jobs"]:
    if j["jobname"] != "wal": continue
    w=j["write"]; p=w["clat_ns"]["percentile"]
    print("%-22s %8.0f writes/s %7.1f MiB/s  clat_us p50=%d p99=%d" % (sys.argv[1], w["iops"], w["bw_bytes"]/2**20,
          p["50.000000"]/1000, p["99.000000"]/1000))
' "$1"
}
for r in $(seq "$ROUNDS"); do
  fio --output-format=json "${wal_job[@]}" | report "wal-alone"
  fio --output-format=json "${wal_job[@]}" "${upload_job[@]}" | report "wal-beside-uploads"
done
