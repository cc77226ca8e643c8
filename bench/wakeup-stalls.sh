#!/usr/bin/env bash
# How late a sleeping thread wakes up on this machine, idle and while the disk takes durable writes:
# the floor under any tail latency measured here. No Strata involved.
# Usage: wakeup-stalls.sh [DIR] [SECONDS]   (DIR on the disk to test; default: a temp dir here; 5 s a run)
# Prints, per condition, the number of 100 us sleeps and how many woke 0.1-1, 1-5, 5-10, 10-20 and
# >= 20 ms late, per CPU. Needs gcc and fio (installed with apt-get if missing).
set -euo pipefail
DIR=${1:-$(mktemp -d -p "$PWD" wakeup.XXXX)}
SECS=${2:-5}
command -v fio >/dev/null || { apt-get update -qq && apt-get install -y -qq fio >/dev/null; }
WORK=$(mktemp -d)
FILE="$DIR/wakeup-stalls.dat"
trap 'rm -rf "$WORK"; rm -f "$FILE"; jobs -p | xargs -r kill 2>/dev/null' EXIT
cat > "$WORK/probe.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000L + t.tv_nsec; }
int main(int argc, char **argv) {
    long end = now() + atol(argv[1]) * 1000000000L, n = 0, max = 0, h[6] = {0};
    struct timespec d = {0, 100000};
    while (now() < end) {
        long a = now(); nanosleep(&d, 0); long late = now() - a - 100000; n++;
        if (late > max) max = late;
        h[late < 100000 ? 0 : late < 1000000 ? 1 : late < 5000000 ? 2 : late < 10000000 ? 3 : late < 20000000 ? 4 : 5]++;
    }
    printf("sleeps=%ld max=%.1fms late: <0.1ms=%ld 0.1-1ms=%ld 1-5ms=%ld 5-10ms=%ld 10-20ms=%ld >=20ms=%ld\n",
           n, max / 1e6, h[0], h[1], h[2], h[3], h[4], h[5]);
    return 0;
}
C
gcc -O2 -o "$WORK/probe" "$WORK/probe.c"
cat > "$WORK/spin.c" <<'C'
int main(void) { volatile unsigned long x = 0; for (;;) x++; }
C
gcc -O1 -o "$WORK/spin" "$WORK/spin.c"
fio --name=layout --filename="$FILE" --size=512M --rw=write --bs=1M --direct=1 --ioengine=psync >/dev/null
probe_all() { for cpu in $(seq 0 $(($(nproc) - 1))); do printf '  cpu%s: ' "$cpu"; taskset -c "$cpu" "$WORK/probe" "$SECS"; done; }
durable() { fio --name=d --filename="$FILE" --size=512M --rw=write --bs=4k --ioengine=psync --direct=1 --fdatasync=1 \
    --time_based --runtime=$((SECS * $(nproc) + 2)) >/dev/null 2>&1 & FIO=$!; }
echo "idle:"; probe_all
echo "during fio 4k writes with fdatasync (durable-4k-fdatasync):"; durable; sleep 1; probe_all; wait "$FIO"
echo "same, with every CPU kept busy by a nice-19 spinner (no vCPU ever halts):"
for cpu in $(seq 0 $(($(nproc) - 1))); do nice -n 19 taskset -c "$cpu" "$WORK/spin" & done
durable; sleep 1; probe_all; wait "$FIO"
