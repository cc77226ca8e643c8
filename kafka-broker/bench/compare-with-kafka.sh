#!/usr/bin/env bash
# Measures the Strata Kafka broker against Apache Kafka (the same version as the clients, 4.3.1) on
# this machine and disk, in one run: kafka-tools' ProducerPerformance (1 KiB records, acks=all, an
# idempotent producer, 16 partitions) and EndToEndLatency (1 KiB records, acks=all, 1 partition)
# against
#   strata          java -jar kafka-broker/target/strata-kafka-broker.jar (durable: a produce is
#                   answered once it is in the WAL)
#   kafka-durable   Apache Kafka, KRaft single node, log.flush.interval.messages=1 (fsync per append)
#   kafka-pagecache Apache Kafka, KRaft single node, default flushing (the OS page cache)
# one broker at a time, each on a fresh directory under --work-dir, and prints one table.
# A benchmark, not a test: nothing is asserted. Apache Kafka's jars come from Maven Central
# (bench/pom.xml, mvn dependency:build-classpath); every process started is stopped on exit.
#
# usage: kafka-broker/bench/compare-with-kafka.sh [--records N] [--e2e-records N] [--work-dir DIR]
#            [--brokers "strata kafka-durable kafka-pagecache"] [--heap 1g] [--no-build]
set -euo pipefail

RECORDS=1000000      # ProducerPerformance records per broker
E2E_RECORDS=10000    # EndToEndLatency round trips per broker
RECORD_SIZE=1024
PARTITIONS=16
HEAP=1g
BROKERS="strata kafka-durable kafka-pagecache"
BUILD=1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK="$REPO/kafka-broker/target/bench"
COMMAND="$0$(printf ' %q' "$@")"

usage() {
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
}
while [[ $# -gt 0 ]]; do
    case "$1" in
        --records) RECORDS="$2"; shift 2 ;;
        --e2e-records) E2E_RECORDS="$2"; shift 2 ;;
        --work-dir) WORK="$2"; shift 2 ;;
        --brokers) BROKERS="$2"; shift 2 ;;
        --heap) HEAP="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage ;;
        *) echo "unknown option $1" >&2; usage ;;
    esac
done
for b in $BROKERS; do
    case "$b" in strata|kafka-durable|kafka-pagecache) ;; *) echo "unknown broker $b" >&2; usage ;; esac
done

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAR="$REPO/kafka-broker/target/strata-kafka-broker.jar"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
LOG4J="-Dlog4j2.configurationFile=$HERE/log4j2.properties"

# --- processes: every one started is recorded and stopped on exit, whatever happens ---
PIDS=()
stop() { # pid: SIGTERM, up to 60 s for a clean close, then SIGKILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    echo "pid $pid did not stop within 60 s of SIGTERM: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop "$pid"; done
    PIDS=()
    rm -rf "$WORK/strata/data" "$WORK/kafka-durable/data" "$WORK/kafka-pagecache/data" # scratch (a 1 GiB WAL file)
}
forget() { # pid: no longer running
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
run_child() { # command...: runs it in the background (so that a signal to this script is handled at once) and waits
    "$@" &
    local pid=$! rc=0
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget "$pid"
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for pid logfile pattern port seconds: the process logged the pattern and accepts on the port
wait_for() {
    local pid=$1 log=$2 pattern=$3 port=$4 seconds=$5 i
    for ((i = 0; i < seconds * 5; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "process $pid exited while starting; last lines of $log:" >&2
            tail -30 "$log" >&2
            exit 1
        fi
        if grep -q "$pattern" "$log" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "process $pid not ready on port $port within $seconds s (no \"$pattern\" in $log)" >&2
    tail -30 "$log" >&2
    exit 1
}

# --- the jars ---
echo "== resolving Apache Kafka's jars (bench/pom.xml) =="
run_child mvn -B -q -f "$HERE/pom.xml" dependency:build-classpath -Dmdep.outputFile="$WORK/kafka.classpath" >"$WORK/mvn-resolve.log" 2>&1 \
    || { cat "$WORK/mvn-resolve.log" >&2; exit 1; }
KAFKA_CP=$(cat "$WORK/kafka.classpath")
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")
if [[ $BUILD == 1 && " $BROKERS " == *" strata "* ]]; then
    echo "== building $JAR =="
    run_child mvn -B -q -f "$REPO/pom.xml" -pl :strata-kafka-broker -am package -DskipTests >"$WORK/mvn-package.log" 2>&1 \
        || { cat "$WORK/mvn-package.log" >&2; exit 1; }
fi

tool() { # class args...: a kafka-tools main on Kafka's classpath
    run_child "$JAVA" -Xmx512m "$LOG4J" -cp "$KAFKA_CP" "$@"
}

# --- brokers: each sets BOOTSTRAP and BROKER_PID ---
start_strata() {
    local dir="$WORK/strata" port
    rm -rf "$dir"; mkdir -p "$dir"
    port=$(free_port)
    "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" -jar "$JAR" --data-dir "$dir/data" --port "$port" --partitions "$PARTITIONS" \
        >"$dir/broker.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_for "$BROKER_PID" "$dir/broker.log" "accepting connections" "$port" 120
    BOOTSTRAP="127.0.0.1:$port"
}

start_kafka() { # name durable(0|1)
    local dir="$WORK/$1" port cport
    rm -rf "$dir"; mkdir -p "$dir"
    port=$(free_port); cport=$(free_port)
    cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=$PARTITIONS
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    if [[ $2 == 1 ]]; then
        echo "log.flush.interval.messages=1" >>"$dir/server.properties"
    fi
    tool kafka.tools.StorageTool format --cluster-id "$(tool kafka.tools.StorageTool random-uuid)" \
        --config "$dir/server.properties" >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; exit 1; }
    # the JVM options of Kafka's kafka-server-start.sh / kafka-run-class.sh
    "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true "$LOG4J" -cp "$KAFKA_CP" \
        kafka.Kafka "$dir/server.properties" >"$dir/broker.log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_for "$BROKER_PID" "$dir/broker.log" "Kafka Server started" "$port" 180
    BOOTSTRAP="127.0.0.1:$port"
}

# --- one broker's measurements: sets RESULT (one table row) ---
measure() { # name
    local name=$1 dir="$WORK/$1" line e2e_avg e2e_pct
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create --topic perf \
        --partitions "$PARTITIONS" --replication-factor 1 >"$dir/topics.log" 2>&1 \
        || { cat "$dir/topics.log" >&2; exit 1; }
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create --topic e2e \
        --partitions 1 --replication-factor 1 >>"$dir/topics.log" 2>&1 \
        || { cat "$dir/topics.log" >&2; exit 1; }
    echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    tool org.apache.kafka.tools.ProducerPerformance --bootstrap-server "$BOOTSTRAP" --topic perf \
        --num-records "$RECORDS" --record-size "$RECORD_SIZE" --throughput -1 \
        --command-property acks=all enable.idempotence=true >"$dir/producer-performance.log" 2>&1 \
        || { cat "$dir/producer-performance.log" >&2; exit 1; }
    # the summary: "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency,
    # P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th."
    line=$(grep "records sent" "$dir/producer-performance.log" | tail -1)
    echo "   $line"
    # EndToEndLatency: produce one record (acks=all), poll until it arrives, N times. It prints its
    # results and then commits its consumer's offsets (a consumer group): the exit status is not used.
    tool org.apache.kafka.tools.EndToEndLatency --bootstrap-server "$BOOTSTRAP" --topic e2e \
        --num-records "$E2E_RECORDS" --producer-acks all --record-size "$RECORD_SIZE" \
        >"$dir/end-to-end-latency.log" 2>&1 || true
    e2e_avg=$(sed -n 's/^Avg latency: \([0-9.]*\) ms.*/\1/p' "$dir/end-to-end-latency.log")
    e2e_pct=$(sed -n 's/^Percentiles: 50th = \([0-9]*\), 99th = \([0-9]*\), 99.9th = \([0-9]*\).*/\1 \2 \3/p' \
        "$dir/end-to-end-latency.log")
    if [[ -z $e2e_avg || -z $e2e_pct ]]; then
        echo "   EndToEndLatency printed no result; last lines of $dir/end-to-end-latency.log:" >&2
        tail -15 "$dir/end-to-end-latency.log" >&2
        e2e_avg="-"; e2e_pct="- - -"
    fi
    echo "   end-to-end: avg $e2e_avg ms, p50/p99/p99.9 $e2e_pct ms"
    echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    RESULT=$(echo "$line" | awk -v name="$name" -v e2e_avg="$e2e_avg" -v e2e_pct="$e2e_pct" '{
        gsub(/[(),]/, " ");
        n = split($0, f, " ");
        # f: N records sent R records/sec M MB/sec A ms avg latency X ms max latency P50 ms 50th P95 ms 95th P99 ms 99th P999 ms 99.9th.
        split(e2e_pct, e, " ");
        printf "%-16s %12.0f %8.1f %9.1f %8d %8d %9d %9s %8s %8s %9s\n", name, f[4], f[6], f[8], f[16], f[22], f[25],
            e2e_avg, e[1], e[2], e[3];
    }')
}

echo "== $COMMAND"
echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
    "$("$JAVA" -version 2>&1 | head -1)"
echo "== Apache Kafka $KAFKA_VERSION; $RECORDS records of $RECORD_SIZE B to $PARTITIONS partitions (ProducerPerformance," \
    "acks=all, idempotent), $E2E_RECORDS end-to-end round trips; work dir $WORK ($(df -h --output=source "$WORK" | tail -1))"
ROWS=()
for broker in $BROKERS; do
    echo "== $broker"
    case "$broker" in
        strata) start_strata ;;
        kafka-durable) start_kafka kafka-durable 1 ;;
        kafka-pagecache) start_kafka kafka-pagecache 0 ;;
    esac
    echo "   listening on $BOOTSTRAP (pid $BROKER_PID)"
    measure "$broker"
    ROWS+=("$RESULT")
    stop "$BROKER_PID"
    forget "$BROKER_PID"
    rm -rf "$WORK/$broker/data" # the data; the processes' log files stay
done

echo
echo "ProducerPerformance: records/s, MiB/s and the producer's send-to-acknowledgement latency (ms);"
echo "EndToEndLatency: produce (acks=all) to consume, one record at a time (ms; p50/p99/p99.9 are whole ms)"
printf "%-16s %12s %8s %9s %8s %8s %9s %9s %8s %8s %9s\n" broker "records/s" "MiB/s" "avg" "p50" "p99" "p99.9" \
    "e2e avg" "e2e p50" "e2e p99" "e2e p99.9"
for row in "${ROWS[@]}"; do
    printf "%s\n" "$row"
done
echo "(the logs of every process: $WORK/<broker>/)"
