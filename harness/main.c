/* main.c: argv handling, the table of verbs (git's cmd_struct with RUN_SETUP-like flags),
 * the store a verb asks for (--db), dispatch and exit codes. */
#include "cmd.h"

#include "../base/suggest.h"
#include "../metrics/store.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct lb_cmd {
	const char *name;
	int (*fn)(int argc, char **argv, struct lb_ctx *ctx);
	unsigned setup;      /* enum lb_setup: the store the verb takes (--db) */
	const char *summary; /* one line for `llmbench help` */
};

/* Keep sorted: looked up with bsearch. A verb with LB_STORE_RW or LB_STORE_RO takes --db FILE
 * (default llmbench.db) and gets its store from cmd_store(). */
static const struct lb_cmd commands[] = {
	{ "bench", cmd_bench, LB_STORE_RW,
	  "benchmark an OpenAI-compatible endpoint from flags alone, as vllm bench serve" },
	{ "bench-model", cmd_bench_model, LB_SETUP_NONE,
	  "pp/tg tokens/s of a GGUF model in-process, as llama-bench" },
	{ "compare", cmd_compare, LB_STORE_RO, "compare two runs side by side" },
	{ "export", cmd_export, LB_STORE_RO,
	  "print one row per request of a run (md, csv, json, jsonl, vllm)" },
	{ "gate", cmd_gate, LB_STORE_RO,
	  "fail (exit 1) if a candidate run regressed against a baseline" },
	{ "k8s", cmd_k8s, LB_SETUP_NONE,
	  "write Kubernetes Indexed Jobs for a sharded run, merge included" },
	{ "merge", cmd_merge, LB_SETUP_NONE,
	  "merge the stores of a sharded run's shards into one run" },
	{ "model", cmd_model, LB_SETUP_NONE, "make, quantize and inspect GGUF models" },
	{ "perplexity", cmd_perplexity, LB_SETUP_NONE,
	  "perplexity and KL divergence of a GGUF model on a text" },
	{ "report", cmd_report, LB_STORE_RO, "render tables, plots and an HTML page from a store" },
	{ "run", cmd_run, LB_STORE_RW, "run a workload and store every request" },
	{ "runs", cmd_runs, LB_STORE_RO, "list the runs in a store" },
	{ "sessions", cmd_sessions, LB_SETUP_NONE,
	  "summarize (stats) multi-turn conversations before a sessions run" },
	{ "sim", cmd_sim, LB_SETUP_NONE,
	  "a simulated OpenAI-compatible endpoint that knows the truth" },
	{ "slurm", cmd_slurm, LB_SETUP_NONE,
	  "write a Slurm job array script for a sharded run, merge included" },
	{ "trace", cmd_trace, LB_SETUP_NONE,
	  "summarize (stats) or generate (gen) a timestamped request trace" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmp_cmd(const void *key, const void *elem)
{
	return strcmp(key, ((const struct lb_cmd *)elem)->name);
}

static const struct lb_cmd *find_cmd(const char *name)
{
	return bsearch(name, commands, N_COMMANDS, sizeof(commands[0]), cmp_cmd);
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: llmbench [--version] [--help] [-v] <verb> [<args>]\n\n"
		"Benchmark and evaluate LLM inference: in-process llama.cpp models and\n"
		"OpenAI-compatible endpoints; results in SQLite, reports, a CI gate.\n\nverbs:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "   %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\nVerbs that read or write results take --db FILE (default: %s).\n"
		"'llmbench <verb> --help' describes a verb. Exit codes: 0 ok, 1 gate failed,\n"
		"2 usage or input error, 3 runtime failure.\n",
		LB_DEFAULT_DB);
}

static int unknown_verb(const char *name)
{
	const char *list[N_COMMANDS + 2], *hint;
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		list[i] = commands[i].name;
	list[i++] = "help";
	list[i] = NULL;
	hint = lb_suggest(name, list);
	if (hint)
		fprintf(stderr,
			"llmbench: error: '%s' is not a verb; did you mean '%s'? "
			"(see 'llmbench --help')\n",
			name, hint);
	else
		fprintf(stderr, "llmbench: error: '%s' is not a verb (see 'llmbench --help')\n",
			name);
	return 2;
}

/* Take --db FILE / --db=FILE out of argv (the verb never sees it). Returns argc, or -1 after
 * printing the error. */
static int take_db(int argc, char **argv, struct lb_ctx *ctx)
{
	int i, j = 1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[j++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--db")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				fprintf(stderr,
					"llmbench: error: option '--db' needs a value (see "
					"'llmbench %s --help')\n",
					ctx->verb);
				return -1;
			}
			ctx->db = argv[++i];
			ctx->db_given = true;
			continue;
		}
		if (!strncmp(argv[i], "--db=", 5)) {
			if (!argv[i][5]) {
				fprintf(stderr,
					"llmbench: error: option '--db' needs a value (see "
					"'llmbench %s --help')\n",
					ctx->verb);
				return -1;
			}
			ctx->db = argv[i] + 5;
			ctx->db_given = true;
			continue;
		}
		argv[j++] = argv[i];
	}
	argv[j] = NULL;
	return j;
}

/* An installed copy (<prefix>/bin/llmbench beside <prefix>/lib/llmbench) loads llama.cpp's
 * compute backends and vocabularies from there, not from the build tree it was made in. */
static void installed_paths(void)
{
	char exe[4096], dir[4200], models[4300];
	struct stat sb;
	char *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = '\0';
	snprintf(dir, sizeof(dir), "%s/../lib/llmbench", exe);
	if (stat(dir, &sb) || !S_ISDIR(sb.st_mode))
		return;
	setenv("LLMBENCH_LLAMA_LIBDIR", dir, 0);
	snprintf(models, sizeof(models), "%s/models", dir);
	if (!stat(models, &sb) && S_ISDIR(sb.st_mode))
		setenv("LLMBENCH_VOCAB_DIR", models, 0);
}

int main(int argc, char **argv)
{
	struct lb_ctx ctx = { 0 };
	const struct lb_cmd *cmd;
	int i, rc;

	ctx.argv0 = argv[0];
	ctx.stderr_tty = isatty(STDERR_FILENO);
	ctx.db = LB_DEFAULT_DB;
	installed_paths();
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("llmbench %s\n", lb_version());
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			ctx.verbose++;
		} else {
			fprintf(stderr,
				"llmbench: error: unknown option '%s' (see 'llmbench --help')\n",
				argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc) {
			cmd = find_cmd(argv[i + 1]);
			if (!cmd)
				return unknown_verb(argv[i + 1]);
			char *av[] = { argv[i + 1], (char *)"--help", NULL };

			ctx.verb = cmd->name;
			ctx.setup = cmd->setup;
			return cmd->fn(2, av, &ctx);
		}
		usage(stdout);
		return 0;
	}
	cmd = find_cmd(argv[i]);
	if (!cmd)
		return unknown_verb(argv[i]);
	ctx.verb = cmd->name;
	ctx.setup = cmd->setup;
	argc -= i;
	argv += i;
	if (cmd->setup & (LB_STORE_RW | LB_STORE_RO)) {
		argc = take_db(argc, argv, &ctx);
		if (argc < 0)
			return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "llmbench: error: cannot initialise libcurl\n");
		return 3;
	}
	rc = cmd->fn(argc, argv, &ctx);
	store_close(ctx.store);
	curl_global_cleanup();
	return rc;
}
