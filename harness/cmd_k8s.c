/* cmd_k8s.c: `llmbench k8s W.json --shards N --image IMAGE` — write Kubernetes manifests (JSON,
 * which kubectl reads as YAML) that run a workload as an Indexed Job of N shards and a second
 * Job that merges their stores and reports (docs/scale-out.md). */
#include "cmd.h"

#include "../base/clock.h"
#include "../base/error.h"
#include "../base/strbuf.h"
#include "cmd_scale.h"
#include "shard.h"
#include "workload.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench k8s WORKLOAD.json --shards N --image IMAGE [--name NAME] [--pvc CLAIM]\n"
	"                    [--namespace NS] [--level-window S]\n"
	"                    [--set key=value]... [-o FILE]\n"
	"\n"
	"Write Kubernetes manifests (one JSON List, which kubectl reads as YAML): a ConfigMap with\n"
	"the workload, an Indexed Job of N pods (completionMode Indexed, completions = parallelism =\n"
	"N) each running 'llmbench run --shard auto' into /stores/RUN/shard-K.db, and a merge Job that\n"
	"waits for every shard to finish, then merges the stores into /stores/RUN/merged.db and\n"
	"writes a report into /stores/RUN/report (RUN: the name and the time the manifest was\n"
	"written). The stores live on a shared volume (a ReadWriteMany\n"
	"PersistentVolumeClaim); the pods of a split load meet in a folder of it and start\n"
	"together. Apply: llmbench k8s ... | kubectl apply -f -\n"
	"\n"
	"  --shards N        pods of the Indexed Job\n"
	"  --image IMAGE     a container image with llmbench on its PATH and a shell\n"
	"  --name NAME       the run's name (default: the workload's name); the objects' names are\n"
	"                    it in lower case, other characters as '-' (RFC 1123)\n"
	"  --pvc CLAIM       the PersistentVolumeClaim for /stores (default llmbench-stores)\n"
	"  --namespace NS    set metadata.namespace\n"
	"  --level-window S  passed to run\n"
	"  --set key=value   passed to every shard's run (repeatable)\n"
	"  -o, --out FILE    write to FILE instead of stdout\n"
	"\n"
	"Exit: 0 written, 2 bad option or workload.\n";

static cJSON *env_var(const char *name, const char *value)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "name", name);
	cJSON_AddStringToObject(e, "value", value);
	return e;
}

static cJSON *meta(const char *name, const char *ns, const char *run)
{
	cJSON *m = cJSON_CreateObject(), *labels;

	cJSON_AddStringToObject(m, "name", name);
	if (ns)
		cJSON_AddStringToObject(m, "namespace", ns);
	labels = cJSON_AddObjectToObject(m, "labels");
	cJSON_AddStringToObject(labels, "app.kubernetes.io/name", "llmbench");
	cJSON_AddStringToObject(labels, "llmbench/run", run);
	return m;
}

/* A pod spec: one container running sh -c script, /stores and /etc/llmbench mounted. */
static cJSON *pod_spec(const char *image, const char *script, cJSON *env, const char *pvc,
		       const char *cm)
{
	cJSON *spec = cJSON_CreateObject(), *cs, *c, *cmd, *vm, *v, *vols;

	cJSON_AddStringToObject(spec, "restartPolicy", "Never");
	cs = cJSON_AddArrayToObject(spec, "containers");
	c = cJSON_CreateObject();
	cJSON_AddItemToArray(cs, c);
	cJSON_AddStringToObject(c, "name", "llmbench");
	cJSON_AddStringToObject(c, "image", image);
	cmd = cJSON_AddArrayToObject(c, "command");
	cJSON_AddItemToArray(cmd, cJSON_CreateString("/bin/sh"));
	cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
	cJSON_AddItemToArray(cmd, cJSON_CreateString(script));
	cJSON_AddItemToObject(c, "env", env);
	vm = cJSON_AddArrayToObject(c, "volumeMounts");
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "name", "stores");
	cJSON_AddStringToObject(v, "mountPath", "/stores");
	cJSON_AddItemToArray(vm, v);
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "name", "workload");
	cJSON_AddStringToObject(v, "mountPath", "/etc/llmbench");
	cJSON_AddTrueToObject(v, "readOnly");
	cJSON_AddItemToArray(vm, v);
	vols = cJSON_AddArrayToObject(spec, "volumes");
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "name", "stores");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(v, "persistentVolumeClaim"), "claimName",
				pvc);
	cJSON_AddItemToArray(vols, v);
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "name", "workload");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(v, "configMap"), "name", cm);
	cJSON_AddItemToArray(vols, v);
	return spec;
}

int cmd_k8s(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "shards", required_argument, NULL, 'N' },
		{ "image", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "pvc", required_argument, NULL, 'p' },
		{ "namespace", required_argument, NULL, 'S' },
		{ "level-window", required_argument, NULL, 'W' },
		{ "set", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *image = NULL, *name = NULL, *pvc = "llmbench-stores", *ns = NULL, *out = NULL;
	char **sets = NULL, sname[64], cm[96], jname[96], mname[96], rdv[160], id[96], nbuf[16],
	     *text = NULL;
	size_t n_sets = 0, i, k;
	long shards = 0;
	double window = 0;
	struct workload wl = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	struct strbuf run = STRBUF_INIT, merge = STRBUF_INIT;
	cJSON *list = NULL, *items, *o, *spec, *env, *tmpl;
	int c, rc = 2;

	(void)ctx;
	sets = calloc((size_t)argc, sizeof(*sets));
	if (!sets)
		return 3;
	optind = 1;
	while ((c = cmd_getopt(argc, argv, "k8s", "ho:", longopts)) != -1) {
		switch (c) {
		case 'N':
			if (cmd_parse_long(optarg, &shards) || shards < 1 || shards > SHARD_MAX) {
				rc = cmd_usage_error(
					"k8s", "--shards needs a count from 1 to %d, got '%s'",
					SHARD_MAX, optarg);
				goto done;
			}
			break;
		case 'i': image = optarg; break;
		case 'n':
			if (cmd_check_run_name("k8s", optarg))
				return 2;
			name = optarg;
			break;
		case 'p': pvc = optarg; break;
		case 'S': ns = optarg; break;
		case 'W':
			if (cmd_parse_double(optarg, &window) || !(window > 0)) {
				rc = cmd_usage_error("k8s",
						     "--level-window needs seconds > 0, got '%s'",
						     optarg);
				goto done;
			}
			break;
		case 's':
			if (!strchr(optarg, '=')) {
				rc = cmd_usage_error("k8s", "--set needs key=value, got '%s'",
						     optarg);
				goto done;
			}
			sets[n_sets++] = optarg;
			break;
		case 'o': out = optarg; break;
		case 'h':
			fputs(usage_text, stdout);
			rc = 0;
			goto done;
		default: rc = 2; goto done;
		}
	}
	if (optind + 1 != argc) {
		rc = cmd_usage_error("k8s", optind >= argc
						    ? "a workload file is required"
						    : "exactly one workload file is expected");
		goto done;
	}
	if (!shards || !image) {
		rc = cmd_usage_error("k8s", "--shards N and --image IMAGE are required");
		goto done;
	}
	if (workload_load(&wl, argv[optind], (const char *const *)sets, n_sets, &err)) {
		rc = cmd_fail(&err);
		goto done;
	}
	/* what every shard would refuse, refused before the Job is applied */
	if (shard_check_plan(&wl, (int)shards, window, &err)) {
		rc = cmd_usage_error("k8s", "%s", err.msg);
		goto done;
	}
	/* object names: lower case letters, digits and '-' (RFC 1123) */
	for (i = 0, k = 0; (name ? name : wl.name)[i] && k + 1 < 40; i++) {
		char ch = (name ? name : wl.name)[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		sname[k++] = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch : '-';
	}
	sname[k] = 0;
	snprintf(cm, sizeof(cm), "llmbench-%s-workload", sname);
	snprintf(jname, sizeof(jname), "llmbench-%s", sname);
	snprintf(mname, sizeof(mname), "llmbench-%s-merge", sname);
	/* a folder of its own for each manifest written: its stores, markers, rendezvous, merge
	 * and report, so that runs share a volume without meeting; its name is the shard group */
	snprintf(id, sizeof(id), "%s-%llu", sname,
		 (unsigned long long)(lb_wall_ns() / 1000000000u));
	snprintf(rdv, sizeof(rdv), "/stores/%s/rendezvous", id);
	snprintf(nbuf, sizeof(nbuf), "%ld", shards);

	/* the workload goes in as stored (with --set applied by each shard again) */
	{
		FILE *f = fopen(argv[optind], "rb");
		long len;

		if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
		    !(text = calloc((size_t)len + 1, 1)) ||
		    fread(text, 1, (size_t)len, f) != (size_t)len) {
			if (f)
				fclose(f);
			rc = lb_error_set(&err, LB_ERR_IO, "cannot read '%s': %s", argv[optind],
					  strerror(errno));
			rc = cmd_fail(&err);
			goto done;
		}
		fclose(f);
	}
	strbuf_addf(&run,
		    "mkdir -p /stores/%s && llmbench run /etc/llmbench/workload.json --shard auto"
		    " --no-progress --db \"/stores/%s/shard-${JOB_COMPLETION_INDEX}.db\" --name ",
		    id, id);
	cmd_shell_quote(&run, name ? name : wl.name); /* the run's name as given */
	for (i = 0; i < n_sets; i++) {
		strbuf_adds(&run, " --set ");
		cmd_shell_quote(&run, sets[i]);
	}
	if (window > 0)
		strbuf_addf(&run, " --level-window %g", window);
	/* a marker when the shard has ended, whatever its exit: the merge waits for all */
	strbuf_addf(
		&run,
		"; rc=$?; echo $rc > \"/stores/%s/shard-${JOB_COMPLETION_INDEX}.done\"; exit $rc",
		id);
	/* every shard's marker, or LLMBENCH_MERGE_WAIT_S (a pod killed writes none): then the
	 * stores that are there, the missing shards reported by the merge */
	strbuf_addf(
		&merge,
		"set -e; D=/stores/%s; end=$(( $(date +%%s) + ${LLMBENCH_MERGE_WAIT_S:-86400} ));"
		" while [ \"$(ls \"$D\"/shard-*.done 2>/dev/null | wc -l)\" -lt %ld ]"
		" && [ \"$(date +%%s)\" -lt \"$end\" ]; do sleep 5; done;"
		" ls \"$D\"/shard-*.db >/dev/null 2>&1 || { echo \"llmbench k8s: no shard store in"
		" $D\" >&2; exit 3; };"
		" rm -f \"$D/merged.db\"; llmbench merge \"$D/merged.db\" \"$D\"/shard-*.db;"
		" llmbench report --db \"$D/merged.db\" --run ",
		id, shards);
	cmd_shell_quote(&merge, name ? name : wl.name);
	strbuf_adds(&merge, " --out \"$D/report\"");

	list = cJSON_CreateObject();
	cJSON_AddStringToObject(list, "apiVersion", "v1");
	cJSON_AddStringToObject(list, "kind", "List");
	items = cJSON_AddArrayToObject(list, "items");

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "v1");
	cJSON_AddStringToObject(o, "kind", "ConfigMap");
	cJSON_AddItemToObject(o, "metadata", meta(cm, ns, sname));
	cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "data"), "workload.json", text);
	cJSON_AddItemToArray(items, o);

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "batch/v1");
	cJSON_AddStringToObject(o, "kind", "Job");
	cJSON_AddItemToObject(o, "metadata", meta(jname, ns, sname));
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "completionMode", "Indexed");
	cJSON_AddNumberToObject(spec, "completions", (double)shards);
	cJSON_AddNumberToObject(spec, "parallelism", (double)shards);
	cJSON_AddNumberToObject(spec, "backoffLimit", 0);
	tmpl = cJSON_AddObjectToObject(spec, "template");
	cJSON_AddItemToObject(tmpl, "metadata", meta(jname, NULL, sname));
	env = cJSON_CreateArray();
	cJSON_AddItemToArray(env, env_var("LLMBENCH_SHARDS", nbuf));
	cJSON_AddItemToArray(env, env_var("LLMBENCH_SHARD_GROUP", id));
	cJSON_AddItemToArray(env, env_var("LLMBENCH_RENDEZVOUS", rdv));
	{
		/* set by the Job controller too; spelled out so that the command can rely on it */
		cJSON *e = cJSON_CreateObject(), *vf = cJSON_AddObjectToObject(e, "valueFrom");

		cJSON_AddStringToObject(e, "name", "JOB_COMPLETION_INDEX");
		cJSON_AddStringToObject(
			cJSON_AddObjectToObject(vf, "fieldRef"), "fieldPath",
			"metadata.annotations['batch.kubernetes.io/job-completion-index']");
		cJSON_AddItemToArray(env, e);
	}
	cJSON_AddItemToObject(tmpl, "spec", pod_spec(image, run.buf, env, pvc, cm));
	cJSON_AddItemToArray(items, o);

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "apiVersion", "batch/v1");
	cJSON_AddStringToObject(o, "kind", "Job");
	cJSON_AddItemToObject(o, "metadata", meta(mname, ns, sname));
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddNumberToObject(spec, "completions", 1);
	cJSON_AddNumberToObject(spec, "parallelism", 1);
	cJSON_AddNumberToObject(spec, "backoffLimit", 0);
	tmpl = cJSON_AddObjectToObject(spec, "template");
	cJSON_AddItemToObject(tmpl, "metadata", meta(mname, NULL, sname));
	env = cJSON_CreateArray();
	cJSON_AddItemToArray(env, env_var("LLMBENCH_SHARDS", nbuf));
	/* how long the merge waits for the shards' markers before it merges what is there */
	cJSON_AddItemToArray(env, env_var("LLMBENCH_MERGE_WAIT_S", "86400"));
	cJSON_AddItemToObject(tmpl, "spec", pod_spec(image, merge.buf, env, pvc, cm));
	cJSON_AddItemToArray(items, o);

	{
		char *js = cJSON_Print(list);
		FILE *f = out ? fopen(out, "w") : stdout;

		if (!js || !f || fputs(js, f) == EOF || fputc('\n', f) == EOF ||
		    (out && fclose(f))) {
			free(js);
			rc = lb_error_set(&err, LB_ERR_IO, "cannot write '%s': %s",
					  out ? out : "stdout", strerror(errno));
			rc = cmd_fail(&err);
			goto done;
		}
		free(js);
	}
	rc = 0;
done:
	cJSON_Delete(list);
	free(text);
	free(sets);
	strbuf_release(&run);
	strbuf_release(&merge);
	workload_release(&wl);
	return rc;
}
