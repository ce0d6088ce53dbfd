/* cmd_run.c: `llmbench run WORKLOAD.json` — run a workload and store every request. */
#include "cmd.h"
#include "../base/proc.h"

#include "../metrics/power.h"
#include "../metrics/store.h"
#include "../base/error.h"
#include "runner.h"
#include "shard.h"
#include "workload.h"

#include "../base/clock.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: llmbench run WORKLOAD.json [--db FILE] [--name NAME] [--set key=value]...\n"
	"                    [--keep-text] [--progress|--no-progress] [--drain S] [--cache-dir DIR]\n"
	"                    [--no-preflight] [--workers N|auto]\n"
	"   or: llmbench run --resume RUN [--db FILE] [options]\n"
	"\n"
	"Run a workload (docs/workload.md) against its backends and store every request, each\n"
	"level's figures and the run itself in a SQLite database.\n"
	"\n"
	"  --db FILE        store (default: llmbench.db in the current directory)\n"
	"  --name NAME      run name (default: <workload>-<date>-<time>); must be new in the store\n"
	"  --set key=value  override a workload field before validation, e.g. load.requests=10,\n"
	"                   backends.0.base_url=http://127.0.0.1:9000/v1, load.levels=[1,4]\n"
	"  --keep-text      store each request's output text\n"
	"  --progress       draw progress on stderr (default: only when stderr is a terminal)\n"
	"  --drain S        on Ctrl-C/SIGTERM, wait S seconds for requests in flight (default 2),\n"
	"                   then cancel them; a second signal cancels at once\n"
	"  --resume RUN     continue an interrupted (or killed) run of the store with the workload it\n"
	"                   stored: finished levels are skipped, finished requests are not repeated\n"
	"  --cache-dir DIR  where quantized models of a model matrix are cached\n"
	"                   (default: .llmbench-cache beside the store)\n"
	"  --shard K/N|auto run shard K of N (0-based) of a sharded run (docs/scale-out.md): a\n"
	"                   model matrix is split by backend, one backend's load by load; auto\n"
	"                   reads Slurm's or a Kubernetes Indexed Job's variables\n"
	"  --shards N       the shard count (Kubernetes; or set LLMBENCH_SHARDS)\n"
	"  --start-at TIME  when the shards of a split load start, UTC (2026-12-06T21:30:00Z) or\n"
	"                   @EPOCH, at most 7 days ahead; default LLMBENCH_START_AT\n"
	"  --rendezvous DIR agree on the start through DIR, a folder every shard sees: each\n"
	"                   shard waits (at most 10 minutes) until all have arrived; default\n"
	"                   LLMBENCH_RENDEZVOUS\n"
	"  --level-window S each level of a split load starts S seconds after the last (default:\n"
	"                   load.duration_s plus a quarter, at least 2 s)\n"
	"  --shard-group G  what the shards of one run share (default LLMBENCH_SHARD_GROUP,\n"
	"                   SLURM_ARRAY_JOB_ID, SLURM_JOB_ID, else the run name)\n"
	"  --no-preflight   skip the one request sent to each remote backend before the first level\n"
	"                   (without it, a backend that fails it stops the run: nothing is stored)\n"
	"  --workers N|auto worker event loops sending the requests (load.workers; default auto:\n"
	"                   the CPUs this process may use, less one when the server is on this\n"
	"                   host, and one for a small level; docs/performance.md \"Workers\")\n"
	"\n"
	"Exit: 0 run done, 2 bad workload or option (nothing sent), 3 runtime failure, a failed\n"
	"pre-flight request, a level with no successful request (run stored 'failed') or interrupted.\n";

static void on_signal(int sig)
{
	(void)sig;
	if (runner_stop < 2)
		runner_stop++;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

struct table_ctx {
	int rows;
};

static void fmt_num(char *buf, size_t len, const char *text, double v, const char *fmt)
{
	if (!text || isnan(v))
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, fmt, v);
}

static int print_row(void *ctx, const struct store_row *row)
{
	struct table_ctx *t = ctx;
	char c[8][32];
	int i;

	if (!t->rows++)
		printf("%-20s %-16s %6s %6s %9s %9s %9s %9s %9s %9s %s\n", "backend", "level", "ok",
		       "fail", "req/s", "out tok/s", "TTFT p50", "TTFT p99", "TPOT p50", "E2E p50",
		       "valid");
	for (i = 0; i < 8; i++)
		fmt_num(c[i], sizeof(c[i]), row->text[i + 4], row->num[i + 4],
			i < 2 ? "%.0f" : "%.2f");
	/* labels are never cut: a longer one pushes its row's columns right */
	printf("%-20s %-16s %6s %6s %9s %9s %9s %9s %9s %9s %s\n", row->text[0],
	       row->text[1] ? row->text[1] : "", c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
	       row->text[3] && !strcmp(row->text[3], "1") ? "yes" : "NO");
	return 0;
}

static void print_table(struct store *st, int64_t run_id)
{
	struct table_ctx t = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	if (store_level_table(st, run_id, print_row, &t, &err))
		cmd_warn("cannot print the summary: %s", err.msg);
}

/* With --resume, a --set may change where the backends are (a server that moved, a model file
 * copied elsewhere), not what is measured: the resumed levels must measure what their first
 * part did. NULL when every set is allowed, else the first refused one. */
static const char *resume_set_refused(const char *const *sets, size_t n_sets)
{
	static const char *const ok[] = { "base_url",        "api_key_env", "headers",
					  "tls_verify",      "timeout_ms",  "connect_timeout_ms",
					  "max_connections", "model_path" };
	size_t i, k;

	for (i = 0; i < n_sets; i++) {
		const char *key = sets[i], *eq = strchr(key, '='), *dot;
		size_t len = eq ? (size_t)(eq - key) : strlen(key);
		bool allowed = false;

		if ((!strncmp(key, "server_metrics", 14) && (len == 14 || key[14] == '.')) ||
		    (len == 12 && !strncmp(key, "load.workers", 12)))
			continue; /* what is watched, how the client sends: not what is measured */
		if (strncmp(key, "backends.", 9))
			return key;
		dot = memchr(key + 9, '.', len - 9);
		if (!dot)
			return key;
		for (k = 0; k < sizeof(ok) / sizeof(ok[0]) && !allowed; k++) {
			size_t n = strlen(ok[k]);

			allowed = (size_t)(key + len - (dot + 1)) >= n &&
				  !strncmp(dot + 1, ok[k], n) &&
				  (dot + 1 + n == key + len || dot[1 + n] == '.');
		}
		if (!allowed)
			return key;
	}
	return NULL;
}

/* The workload text a run stored, parsed again (paths resolve as they did then). */
static int load_stored_workload(struct store *st, const char *db, const char *run,
				struct workload *wl, const char *const *sets, size_t n_sets,
				struct lb_error *err)
{
	struct store_run_workload w = { 0 };
	int rc;

	rc = store_run_workload(st, run, &w, err);
	if (rc)
		goto out;
	if (!w.found || !w.status) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "no run '%s' in '%s' (see 'llmbench runs --db %s')", run, db, db);
		goto out;
	}
	if (!strcmp(w.status, "done")) {
		rc = lb_error_set(err, LB_ERR_USAGE, "run '%s' is done: nothing to resume", run);
		goto out;
	}
	if (!w.text) {
		rc = lb_error_set(err, LB_ERR_USAGE, "run '%s' stored no workload to resume with",
				  run);
		goto out;
	}
	/* a run whose process still runs on this host: two writers would send and store the
	 * same requests twice */
	if (!strcmp(w.status, "running") && (pid_t)w.pid != getpid() &&
	    lb_process_state(w.host, w.pid) == 1) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "run '%s' is still running (process %ld on this host): let it "
				  "end, or stop it (kill -INT %ld) and resume then",
				  run, w.pid, w.pid);
		goto out;
	}
	rc = workload_parse(wl, w.text, strlen(w.text), w.path ? w.path : db, sets, n_sets, err);
out:
	store_run_workload_release(&w);
	return rc;
}

/* Power notes only when the workload asked for power (a "power" section) or with -v. */
struct note_ctx {
	bool power_quiet;
};

static void print_note(void *ctx, const char *msg)
{
	const struct note_ctx *n = ctx;

	if (n && n->power_quiet && !strncmp(msg, "power", 5))
		return;
	fprintf(stderr, "llmbench: %s\n", msg);
}

int cmd_run(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "set", required_argument, NULL, 's' },
		{ "keep-text", no_argument, NULL, 'k' },
		{ "progress", no_argument, NULL, 'p' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ "drain", required_argument, NULL, 'D' },
		{ "cache-dir", required_argument, NULL, 'c' },
		{ "resume", required_argument, NULL, 'r' },
		{ "shard", required_argument, NULL, 'S' },
		{ "shards", required_argument, NULL, 'N' },
		{ "start-at", required_argument, NULL, 'T' },
		{ "level-window", required_argument, NULL, 'W' },
		{ "shard-group", required_argument, NULL, 'G' },
		{ "rendezvous", required_argument, NULL, 'R' },
		{ "no-preflight", no_argument, NULL, 'F' },
		{ "workers", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = ctx->db, **sets = NULL;
	bool db_new;
	struct note_ctx nc = { false };
	size_t n_sets = 0;
	struct runner_opts o = { 0 };
	struct runner_result res;
	struct workload wl = { 0 };
	struct store *st = NULL;
	struct lb_error err = LB_ERROR_INIT;
	char cache[4096];
	int c, rc, exit_code = 0;
	const char *shard_arg = NULL, *start_arg = getenv("LLMBENCH_START_AT"), *group_arg = NULL;
	bool start_opt = false;
	long n_shards = 0;
	double window_s = 0;
	struct shard_spec spec;
	struct shard_run srun;
	struct workload swl;
	uint64_t start_ns = 0;
	const char *rdv = getenv("LLMBENCH_RENDEZVOUS");

	o.progress = ctx->stderr_tty ? cmd_print_progress : NULL;
	o.drain_s = 2;
	o.note = print_note;
	o.note_ctx = &nc;
	sets = calloc((size_t)argc, sizeof(*sets));
	if (!sets)
		return 3;
	optind = 1;
	while ((c = cmd_getopt(argc, argv, "run", "h", longopts)) != -1) {
		switch (c) {
		case 'n': o.run_name = optarg; break;
		case 's':
			if (!strchr(optarg, '=')) {
				free(sets);
				return cmd_usage_error("run", "--set needs key=value, got '%s'",
						       optarg);
			}
			sets[n_sets++] = optarg;
			break;
		case 'k': o.keep_text = true; break;
		case 'p': o.progress = cmd_print_progress; break;
		case 'P': o.progress = NULL; break;
		case 'D':
			if (cmd_parse_double(optarg, &o.drain_s) || o.drain_s < 0) {
				free(sets);
				return cmd_usage_error(
					"run", "--drain needs seconds >= 0, got '%s'", optarg);
			}
			break;
		case 'c': o.cache_dir = optarg; break;
		case 'r': o.resume_run = optarg; break;
		case 'S': shard_arg = optarg; break;
		case 'N':
			if (cmd_parse_long(optarg, &n_shards) || n_shards < 1 ||
			    n_shards > SHARD_MAX) {
				free(sets);
				return cmd_usage_error(
					"run", "--shards needs a count from 1 to %d, got '%s'",
					SHARD_MAX, optarg);
			}
			break;
		case 'T':
			start_arg = optarg;
			start_opt = true;
			break;
		case 'W':
			if (cmd_parse_double(optarg, &window_s) || !(window_s > 0)) {
				free(sets);
				return cmd_usage_error("run",
						       "--level-window needs seconds > 0, got '%s'",
						       optarg);
			}
			break;
		case 'G': group_arg = optarg; break;
		case 'R': rdv = optarg; break;
		case 'F': o.no_preflight = true; break;
		case 'w': {
			static char wset[64];
			long nw = 0;

			if (strcmp(optarg, "auto") &&
			    (cmd_parse_long(optarg, &nw) || nw < 1 || nw > 256)) {
				free(sets);
				return cmd_usage_error(
					"run",
					"--workers needs a count from 1 to 256 or auto, got '%s'",
					optarg);
			}
			snprintf(wset, sizeof(wset), "load.workers=%s",
				 strcmp(optarg, "auto") ? optarg : "\"auto\"");
			sets[n_sets++] = wset;
			break;
		}
		case 'h':
			free(sets);
			fputs(usage_text, stdout);
			return 0;
		default: free(sets); return 2;
		}
	}
	if (cmd_check_run_name("run", o.run_name)) {
		free(sets);
		return 2;
	}
	if (start_opt && !shard_arg) {
		free(sets);
		return cmd_usage_error("run",
				       "--start-at starts the shards of a split load together: "
				       "give it with --shard K/N (or --shard auto)");
	}
	if (shard_arg && o.resume_run) {
		free(sets);
		return cmd_usage_error("run",
				       "--resume does not take --shard: resume each shard's store "
				       "without it");
	}
	if (shard_arg) {
		/* every shard error is found before anything is written */
		if (shard_parse(shard_arg, (int)n_shards, &spec, &err) ||
		    (start_arg && *start_arg &&
		     shard_parse_start_at(start_arg, lb_wall_ns(), &start_ns, &err))) {
			free(sets);
			return cmd_fail(&err);
		}
	}
	if (o.resume_run) {
		if (optind != argc || o.run_name) {
			free(sets);
			return cmd_usage_error(
				"run", "--resume takes the workload stored with the run: give "
				       "no workload file and no --name");
		}
		if (access(db, F_OK)) {
			free(sets);
			return cmd_usage_error("run", "no store '%s' to resume '%s' from", db,
					       o.resume_run);
		}
		{
			const char *bad = resume_set_refused((const char *const *)sets, n_sets);

			if (bad) {
				int n = (int)strcspn(bad, "=");

				free(sets);
				return cmd_usage_error(
					"run",
					"--set %.*s: --resume measures the workload stored with the "
					"run; a --set may only move its backends (base_url, "
					"api_key_env, headers, tls_verify, timeouts, "
					"max_connections, model_path), server_metrics or "
					"load.workers",
					n, bad);
			}
		}
		rc = cmd_store(ctx, &st);
		if (rc) {
			free(sets);
			return rc;
		}
		rc = load_stored_workload(st, db, o.resume_run, &wl, sets, n_sets, &err);
		free(sets);
		if (rc)
			return cmd_fail(&err);
	} else {
		if (optind + 1 != argc) {
			free(sets);
			return cmd_usage_error(
				"run", optind >= argc ? "a workload file is required"
						      : "exactly one workload file is expected");
		}
		rc = workload_load(&wl, argv[optind], sets, n_sets, &err);
		free(sets);
		if (rc)
			return cmd_fail(&err);
	}
	{
		/* the power section is checked now, before the store is created */
		struct power_config pc;

		power_config_init(&pc);
		rc = power_config_parse(&pc, wl.power_json, &err);
		power_config_release(&pc);
		if (rc) {
			/* named as the workload's other errors are: 'FILE': power.idle_s: ... */
			if (wl.path && rc != LB_ERR_NOMEM)
				lb_error_prefix(&err, "'%s'", wl.path);
			workload_release(&wl);
			return cmd_fail(&err);
		}
	}
	if (shard_arg) {
		if (rdv && !*rdv)
			rdv = NULL;
		rc = shard_run_init(&srun, &spec, &wl, start_ns, rdv && !start_ns, window_s,
				    group_arg ? group_arg
					      : shard_group(o.run_name ? o.run_name : wl.name),
				    &err);
		if (!rc)
			rc = shard_workload(&wl, &srun, &swl, &err);
		if (rc) {
			workload_release(&wl);
			return cmd_fail(&err);
		}
		o.shard = &srun;
	}
	if (o.shard && rdv && !start_ns && srun.spec.n > 1 && srun.spec.split == SHARD_SPLIT_LOAD) {
		/* before the store exists: a shard that never meets the others writes nothing */
		cmd_catch_stop_signals(on_signal);
		rc = shard_rendezvous(&srun, rdv, 600, &runner_stop, &err);
		if (rc) {
			shard_workload_release(&swl);
			workload_release(&wl);
			return cmd_fail(&err);
		}
		if (ctx->verbose || ctx->stderr_tty)
			fprintf(stderr, "llmbench: all %d shards arrived; start at %s\n",
				srun.spec.n, srun.start_at);
	}
	if (!o.cache_dir) {
		const char *slash = strrchr(db, '/');

		snprintf(cache, sizeof(cache), "%.*s.llmbench-cache",
			 slash ? (int)(slash - db + 1) : 0, db);
		o.cache_dir = cache;
	}
#ifdef LB_SANITIZE
	cmd_warn("sanitizer enabled, timings are not comparable");
#endif
	nc.power_quiet = !wl.power_json && !ctx->verbose;
	db_new = cmd_store_absent(ctx);
	rc = cmd_store(ctx, &st);
	if (rc) {
		if (o.shard)
			shard_workload_release(&swl);
		workload_release(&wl);
		return rc;
	}
	raise_nofile();
	cmd_catch_stop_signals(on_signal);
	signal(SIGPIPE, SIG_IGN);

	rc = runner_run(o.shard ? &swl : &wl, st, &o, &res, &err);
	if (!rc && res.run_id && cmd_mark_power(st, res.run_id, wl.power_json != NULL, &err))
		cmd_warn("cannot store power_requested: %s", err.msg);
	if (rc) {
		exit_code = cmd_fail(&err);
		if (db_new && !res.run_id)
			cmd_store_drop(ctx);
	} else {
		print_table(st, res.run_id);
		if (res.interrupted) {
			fprintf(stderr,
				"llmbench: run '%s' interrupted; what finished is stored in '%s'\n",
				res.run_name, db);
			exit_code = 3;
		} else if (res.backends_failed && (size_t)res.backends_failed == wl.n_backends) {
			fprintf(stderr, "llmbench: error: no backend could be opened\n");
			exit_code = 3;
		} else if (res.levels_no_success) {
			fprintf(stderr,
				"llmbench: error: %d level%s had no successful request; run '%s' stored as "
				"failed\n",
				res.levels_no_success, res.levels_no_success > 1 ? "s" : "",
				res.run_name);
			exit_code = 3;
		}
		if (!wl.dataset.path && !res.requests_ok && !res.requests_failed)
			printf("run '%s': evaluation only (no dataset, so no load levels); stored in "
			       "'%s'\n",
			       res.run_name, db);
		else
			printf("run '%s': %ld requests ok, %ld failed%s; stored in '%s'\n",
			       res.run_name, res.requests_ok, res.requests_failed,
			       o.resume_run ? " in this resume (the table counts all)" : "", db);
	}
	if (o.shard)
		shard_workload_release(&swl);
	workload_release(&wl);
	return exit_code;
}
