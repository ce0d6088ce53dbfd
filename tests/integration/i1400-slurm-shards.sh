#!/usr/bin/env bash
# A real one-node Slurm cluster (munged, slurmctld, slurmd as root, configured in a temporary
# folder; proctrack/linuxproc and task/none, no cgroups) runs the script of `llmbench slurm`: a
# 4-shard job array against one `llmbench sim`, then the dependent merge job. Checks: merged
# requests = the sum of the shards'; merged achieved rate within 2% of the offered rate; merged
# percentiles = a recomputation over all rows. Skips, saying why, when Slurm cannot be had.
. "$(dirname "$0")/../lib.sh"

need="slurmctld slurmd sbatch squeue munged"
missing() { local c; for c in $need; do command -v "$c" >/dev/null || PATH=$PATH:/usr/sbin command -v "$c" >/dev/null || return 0; done; return 1; }
export PATH=$PATH:/usr/sbin
if missing; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "# installing slurmctld slurmd slurm-client munge with apt-get"
		DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y --no-install-recommends \
			slurmctld slurmd slurm-client munge >"$TMP/apt.log" 2>&1 ||
			tail -n 3 "$TMP/apt.log" | sed 's/^/# /'
	fi
fi
if missing; then
	test_skip "Slurm is not available: needs $need (Debian: apt-get install slurmctld slurmd slurm-client munge, as root)$([ "$(id -u)" = 0 ] || echo '; not root, so not installed here')"
	test_done
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	test_skip "a one-node Slurm cluster needs root (slurmd runs jobs as their users)"
	test_done
	exit 0
fi

S=$TMP/slurm
mkdir -p "$S/state" "$S/spool" "$S/munge"
chmod 700 "$S/munge"
export SLURM_CONF=$S/slurm.conf
stop_daemons() { # slurmd, slurmctld, munged; wait for each to go
	local p pid
	for p in slurmd slurmctld munge/munged; do
		[ -s "$S/$p.pid" ] || continue
		pid=$(cat "$S/$p.pid")
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	done
}
cleanup_add stop_daemons
if [ -r /etc/munge/munge.key ]; then
	cp /etc/munge/munge.key "$S/munge/key"
else
	dd if=/dev/urandom of="$S/munge/key" bs=1024 count=1 2>/dev/null
fi
chmod 600 "$S/munge/key"
munged --force --socket="$S/munge/sock" --key-file="$S/munge/key" --pid-file="$S/munge/munged.pid" \
	--log-file="$S/munge/log" --seed-file="$S/munge/seed" || { echo "munged did not start"; exit 1; }
host=$(hostname -s)
cat >"$SLURM_CONF" <<CONF
ClusterName=llmbench-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge/sock
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
PlugStackConfig=$S/plugstack.conf
NodeName=$host NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
: >"$S/plugstack.conf"
slurmctld -i && slurmd || { echo "slurm daemons did not start"; tail "$S"/*.log; exit 1; }
up=
for _ in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -q idle && { up=1; break; }; sleep 0.2; done
test_expect_success 'a one-node Slurm cluster is up' 'test -n "$up" && sinfo'

start_sim PORT --ttft-ms 20 --itl-ms 2 --output-tokens 8 --jitter-ms 2 || exit 1
W=$LB_TOP/workloads/smoke.json
LOAD='load={"mode": "rate", "levels": [200], "requests": 800, "warmup": 0, "arrival": "constant", "lag_bound_ms": 50}'
test_expect_success 'llmbench slurm writes the script; bash submits the array and the merge' '
	(cd "$LB_TOP" && "$LLMBENCH" slurm "$W" --shards 4 --dir "$TMP/run" --name slurmed -o "$TMP/job.sh" \
		--time=00:05:00 --set backends.0.base_url=http://127.0.0.1:$PORT/v1 \
		--set generation.max_tokens=8 --set "$LOAD" && cd "$LB_TOP" && bash "$TMP/job.sh") >sub.out &&
	cat sub.out && grep -q "array job" sub.out
'
done_=
for _ in $(seq 240); do
	[ -z "$(squeue -h 2>/dev/null)" ] && { done_=1; break; }
	sleep 0.5
done
job=$(sed -n "s/.*array job \([0-9]*\).*/\1/p" "$TMP/sub.out")
test_expect_success 'the array and the merge job end within 2 minutes (stores named by the array job)' '
	test -n "$done_" && ls "$TMP/run" && test -s "$TMP/run/merged-$job.db" &&
	test -s "$TMP/run/report-$job/report.md" && ln -s "merged-$job.db" "$TMP/run/merged.db" &&
	for k in 0 1 2 3; do ln -s "shard-$job-$k.db" "$TMP/run/shard-$k.db" || exit 1; done
'
test_expect_success 'each task ran one shard of the array (Slurm variables, group = array job)' '
	for k in 0 1 2 3; do
		test "$(sqlite3 "$TMP/run/shard-$k.db" "SELECT shard || \"/\" || n_shards || \" \" || engine || \" \" || shard_group FROM shards")" = "$k/4 slurm array $job" || return 1
	done
'
test_expect_success 'merged requests = the sum of the shards'\'' requests' '
	sum=0 && for k in 0 1 2 3; do sum=$((sum + $(sqlite3 "$TMP/run/shard-$k.db" "SELECT count(*) FROM requests"))); done &&
	echo "sum $sum" && test "$sum" = 800 &&
	test "$(sqlite3 "$TMP/run/merged.db" "SELECT count(*) FROM requests")" = "$sum"
'
test_expect_success 'merged achieved rate within 2% of the offered rate' '
	o=$(sqlite3 "$TMP/run/merged.db" "SELECT value FROM summaries WHERE metric = '\''offered_rate'\''") &&
	a=$(sqlite3 "$TMP/run/merged.db" "SELECT value FROM summaries WHERE metric = '\''achieved_rate'\''") &&
	s=$(sqlite3 "$TMP/run/merged.db" "SELECT value FROM summaries WHERE metric = '\''shard_start_spread_ms'\''") &&
	echo "offered $o achieved $a start spread ${s} ms" &&
	awk -v o="$o" -v a="$a" "BEGIN { exit !(o == 200 && a > o * 0.98 && a < o * 1.02) }"
'
test_expect_success 'merged percentiles = a recomputation over all rows' '
	python3 - "$TMP/run/merged.db" <<-\PY
	import sqlite3, sys
	db = sqlite3.connect(sys.argv[1])
	def pct(v, p):
	    r = p / 100 * (len(v) - 1); lo = int(r)
	    return v[-1] if lo + 1 >= len(v) else v[lo] + (r - lo) * (v[lo + 1] - v[lo])
	for col in ("ttft", "tpot", "e2e", "lag"):
	    ok = "" if col == "lag" else " AND status = '\''ok'\''"
	    v = sorted(x for (x,) in db.execute(f"SELECT {col}_ms FROM requests WHERE warmup = 0{ok} AND {col}_ms IS NOT NULL"))
	    for p, name in ((50, "p50"), (90, "p90"), (95, "p95"), (99, "p99"), (99.9, "p999")):
	        (got,) = db.execute("SELECT value FROM summaries WHERE metric = ?", (f"{col}_{name}_ms",)).fetchone()
	        want = pct(v, p)
	        assert abs(got - want) <= 1e-9 * max(1, abs(want)), (col, name, got, want)
	    (mx,) = db.execute("SELECT value FROM summaries WHERE metric = ?", (f"{col}_max_ms",)).fetchone()
	    assert mx == v[-1]
	print("ok: %d rows" % len(v))
	PY
'
# a second submission into the same folder: its own stores, merge and report; the first's stay
(cd "$LB_TOP" && bash "$TMP/job.sh") >"$TMP/sub2.out" 2>&1
job2=$(sed -n "s/.*array job \([0-9]*\).*/\1/p" "$TMP/sub2.out")
for _ in $(seq 240); do
	[ -z "$(squeue -h 2>/dev/null)" ] && break
	sleep 0.5
done
test_expect_success 'a second submission into the same --dir merges only its own stores' '
	cat "$TMP/sub2.out" && test -n "$job2" && test "$job2" != "$job" &&
	test "$(sqlite3 "$TMP/run/merged-$job2.db" "SELECT count(*) FROM requests")" = 800 &&
	test "$(sqlite3 "$TMP/run/merged-$job2.db" "SELECT group_concat(DISTINCT shard_group) FROM shards")" = "$job2" &&
	test "$(sqlite3 "$TMP/run/merged-$job.db" "SELECT count(*) FROM requests")" = 800
'
stop_daemons
test_expect_success 'the daemons are stopped' '
	for p in slurmd slurmctld munge/munged; do ! kill -0 "$(cat "$S/$p.pid")" 2>/dev/null || return 1; done
'
test_done
