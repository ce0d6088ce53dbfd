#!/usr/bin/env bash
# llmbench slurm writes a valid bash script with the job array and the dependent merge; llmbench
# k8s writes an Indexed Job (batch/v1, completionMode Indexed, completions = parallelism = N,
# env, shared volume) and a merge Job, whose commands, run here with the pod's variables, make
# the shards and the merged run; --shard auto reads JOB_COMPLETION_INDEX.
. "$(dirname "$0")/../lib.sh"

W=$LB_TOP/workloads/smoke.json
code_is() { local want=$1 rc; shift; "$@"; rc=$?; echo "exit $rc"; test "$rc" -eq "$want"; }

test_expect_success 'slurm: a bash script with the array, the sbatch options and the merge job' '
	(cd "$LB_TOP" && "$LLMBENCH" slurm "$W" --shards 4 --dir "$TMP/run" -o "$TMP/s.sh" \
		--partition=debug --time=00:10:00 -p short --set load.requests=8 \
		--set "load.levels=[4,8]" --level-window 5) &&
	test -x "$TMP/s.sh" && bash -n "$TMP/s.sh" &&
	grep -qx "#SBATCH --array=0-3" "$TMP/s.sh" &&
	grep -qx "#SBATCH --partition=debug" "$TMP/s.sh" &&
	grep -qx "#SBATCH --time=00:10:00" "$TMP/s.sh" &&
	grep -qx "#SBATCH -p short" "$TMP/s.sh" &&
	grep -q -- "--shard auto" "$TMP/s.sh" && grep -q -- "--rendezvous" "$TMP/s.sh" && grep -q -- "--dependency=afterany" "$TMP/s.sh" &&
	grep -q "merge \"\$DIR/merged-\$job.db\" \"\${stores\[@\]}\"" "$TMP/s.sh" &&
	grep -q "stores=(\"\$DIR\"/shard-\"\$job\"-\*.db)" "$TMP/s.sh" &&
	grep -q "'\''load.requests=8'\''" "$TMP/s.sh"
'
test_expect_success 'slurm: a --dir with a space, a quote, # and % is quoted as sbatch reads directives' '
	d="$TMP/a dir/it'\''s#50%" &&
	(cd "$LB_TOP" && "$LLMBENCH" slurm "$W" --shards 2 --dir "$d" -o "$TMP/q.sh" \
		--set "load.levels=[4,8]" --level-window 5) && bash -n "$TMP/q.sh" &&
	grep -qx "#SBATCH --output=\"$TMP/a dir/it'\''s#50%%/slurm-%A_%a.out\"" "$TMP/q.sh" &&
	grep -q "printf -v qself %q" "$TMP/q.sh"
'
test_expect_success 'slurm and k8s keep --name as the run name (files and objects get a safe form)' '
	(cd "$LB_TOP" && "$LLMBENCH" slurm "$W" --shards 2 --name "My Run_1" -o "$TMP/n.sh" \
		--set "load.levels=[4,8]" --level-window 5) &&
	grep -qx "NAME='\''My Run_1'\''" "$TMP/n.sh" && grep -qx "#SBATCH --job-name=llmbench-My-Run_1" "$TMP/n.sh" &&
	(cd "$LB_TOP" && "$LLMBENCH" k8s "$W" --shards 2 --image i --name "My Run_1" \
		--set "load.levels=[4,8]" --level-window 5) >n.json &&
	grep -q -- "--name '\''My Run_1'\''" n.json && grep -q "\"llmbench-my-run-1\"" n.json
'
test_expect_success 'slurm and k8s refuse a plan every shard would refuse, before anything is queued' '
	(cd "$LB_TOP" && code_is 2 "$LLMBENCH" slurm "$W" --shards 4 -o "$TMP/no.sh") 2>err &&
	grep -q "^llmbench: error: --shards 4: the levels of a split load are bounded by time" err &&
	(cd "$LB_TOP" && code_is 2 "$LLMBENCH" k8s "$W" --shards 4 --image i --level-window 5 -o "$TMP/no.yaml") 2>err &&
	grep -q "^llmbench: error: --shards 4: concurrency 1 split over 4 shards leaves shard 3 no stream" err &&
	! test -e "$TMP/no.sh" && ! test -e "$TMP/no.yaml"
'
test_expect_success 'slurm: --shards is required, --array is ours, a matrix caps the shards' '
	(cd "$LB_TOP" && code_is 2 "$LLMBENCH" slurm "$W") 2>err && grep -q "shards" err &&
	(cd "$LB_TOP" && code_is 2 "$LLMBENCH" slurm "$W" --shards 2 --array=0-9) 2>err &&
	grep -q "set by llmbench slurm" err &&
	(cd "$LB_TOP" && code_is 2 "$LLMBENCH" slurm "$W" --shards 0) 2>err
'
test_expect_success 'k8s: Indexed Job, merge Job, ConfigMap, env and shared volume' '
	(cd "$LB_TOP" && "$LLMBENCH" k8s "$W" --shards 4 --image reg.example/llmbench:1 --pvc stores \
		--namespace bench --set backends.0.base_url=http://127.0.0.1:9/v1 \
		--set "load.levels=[4,8]" --level-window 5) >k.json &&
	python3 - k.json <<-\PY
	import json, sys
	d = json.load(open(sys.argv[1]))
	kinds = [i["kind"] for i in d["items"]]
	assert kinds == ["ConfigMap", "Job", "Job"], kinds
	cm, job, merge = d["items"]
	assert json.loads(cm["data"]["workload.json"])["name"] == "smoke"
	for j in (job, merge):
	    assert j["apiVersion"] == "batch/v1" and j["metadata"]["namespace"] == "bench"
	s = job["spec"]
	assert s["completionMode"] == "Indexed", s
	assert s["completions"] == 4 and s["parallelism"] == 4, s
	pod = s["template"]["spec"]
	assert pod["restartPolicy"] == "Never"
	c = pod["containers"][0]
	assert c["image"] == "reg.example/llmbench:1"
	env = {e["name"]: e for e in c["env"]}
	assert env["LLMBENCH_SHARDS"]["value"] == "4"
	run_dir = env["LLMBENCH_RENDEZVOUS"]["value"].rsplit("/", 1)[0]
	assert run_dir.startswith("/stores/smoke-") and env["LLMBENCH_RENDEZVOUS"]["value"].endswith("/rendezvous"), env
	assert env["LLMBENCH_SHARD_GROUP"]["value"] == run_dir[len("/stores/"):], env
	assert "job-completion-index" in env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
	cmd = " ".join(c["command"])
	assert "--shard auto" in cmd and run_dir + "/shard-${JOB_COMPLETION_INDEX}.db" in cmd, cmd
	mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
	assert mounts == {"stores": "/stores", "workload": "/etc/llmbench"}, mounts
	vols = {v["name"]: v for v in pod["volumes"]}
	assert vols["stores"]["persistentVolumeClaim"]["claimName"] == "stores"
	assert vols["workload"]["configMap"]["name"] == cm["metadata"]["name"]
	m = merge["spec"]
	assert m["completions"] == 1 and "completionMode" not in m
	mc = " ".join(m["template"]["spec"]["containers"][0]["command"])
	assert "D=" + run_dir + ";" in mc and "llmbench merge \"$D/merged.db\"" in mc and "-lt 4" in mc, mc
	menv = {e["name"]: e["value"] for e in m["template"]["spec"]["containers"][0]["env"]}
	assert menv["LLMBENCH_MERGE_WAIT_S"] == "86400" and "LLMBENCH_MERGE_WAIT_S" in mc, menv
	print("ok")
	PY
'
test_expect_success '--shard auto reads JOB_COMPLETION_INDEX (count from --shards or LLMBENCH_SHARDS)' '
	(cd "$LB_TOP" && code_is 2 env JOB_COMPLETION_INDEX=1 "$LLMBENCH" run "$W" --shard auto --db "$TMP/k.db") 2>err &&
	grep -q "JOB_COMPLETION_INDEX is set but the shard count is not" err && test ! -e "$TMP/k.db" &&
	(cd "$LB_TOP" && code_is 2 env JOB_COMPLETION_INDEX=4 LLMBENCH_SHARDS=4 "$LLMBENCH" run "$W" --shard auto --db "$TMP/k.db") 2>err &&
	grep -q "out of range" err && test ! -e "$TMP/k.db"
'

start_sim PORT --ttft-ms 5 --itl-ms 1 --output-tokens 4 || exit 1
test_expect_success 'the manifests'\''s commands, run with each pod'\''s variables, make merged runs that share a volume' '
	for n in first second; do
		(cd "$LB_TOP" && "$LLMBENCH" k8s "$W" --shards 2 --image x --name $n \
			--set backends.0.base_url=http://127.0.0.1:$PORT/v1 --set generation.max_tokens=4 \
			--set "load={\"mode\": \"rate\", \"levels\": [40], \"requests\": 16, \"warmup\": 0}") >k-$n.json || return 1
	done &&
	for n in first second; do python3 - k-$n.json "$TMP" "$LLMBENCH" "$W" <<-\PY || return 1
	import json, os, subprocess, sys
	d = json.load(open(sys.argv[1])); tmp, exe, wl = sys.argv[2:5]
	os.makedirs(tmp + "/stores", exist_ok=True)
	def local(cmd):
	    return (cmd.replace("/etc/llmbench/workload.json", wl).replace("/stores", tmp + "/stores")
	               .replace("llmbench ", exe + " "))
	job, merge = d["items"][1], d["items"][2]
	c = job["spec"]["template"]["spec"]["containers"][0]
	env = dict(os.environ)
	env.update({e["name"]: local(e["value"]) for e in c["env"] if "value" in e})
	procs = []
	for i in range(job["spec"]["completions"]):
	    e = dict(env, JOB_COMPLETION_INDEX=str(i))
	    procs.append(subprocess.Popen(["/bin/sh", "-c", local(c["command"][2])], env=e, cwd=os.path.dirname(wl) + "/.."))
	assert all(p.wait() == 0 for p in procs)
	mc = merge["spec"]["template"]["spec"]["containers"][0]["command"][2]
	subprocess.run(["/bin/sh", "-c", local(mc)], check=True, timeout=60, stdout=subprocess.DEVNULL)
	print("ok")
	PY
	done &&
	for n in first second; do
		d=$(ls -d "$TMP/stores/$n"-*) && test -d "$d" || return 1
		for k in 0 1; do
			test "$(sqlite3 "$d/shard-$k.db" "SELECT shard || \"/\" || n_shards || \" \" || engine FROM shards")" = "$k/2 kubernetes" || return 1
		done
		test "$(sqlite3 "$d/merged.db" "SELECT count(*) || \" \" || min(name) FROM requests, runs")" = "16 $n" &&
		test -s "$d/report/report.md" || return 1
	done
'
test_done
