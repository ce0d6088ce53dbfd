/* main.c: argv handling, the table of verbs (git's cmd_struct), dispatch and exit codes. */
#include "cmd.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lb_cmd {
	const char *name;
	int (*fn)(int argc, char **argv, struct lb_ctx *ctx);
	const char *summary; /* one line for `llmbench help` */
};

/* Keep sorted: looked up with bsearch. */
static const struct lb_cmd commands[] = {
	{ "bench-model", cmd_bench_model, "pp/tg tokens/s of a GGUF model in-process, as llama-bench" },
	{ "compare", cmd_compare, "compare two runs side by side" },
	{ "export", cmd_export, "print one row per request of a run (csv, json, jsonl)" },
	{ "gate", cmd_gate, "fail (exit 1) if a candidate run regressed against a baseline" },
	{ "model", cmd_model, "make, quantize and inspect GGUF models" },
	{ "perplexity", cmd_perplexity, "perplexity and KL divergence of a GGUF model on a text" },
	{ "report", cmd_report, "render tables, plots and an HTML page from a store" },
	{ "run", cmd_run, "run a workload and store every request" },
	{ "runs", cmd_runs, "list the runs in a store" },
	{ "sim", cmd_sim, "a simulated OpenAI-compatible endpoint that knows the truth" },
	{ "trace", cmd_trace, "summarize (stats) or generate (gen) a timestamped request trace" },
};

static int cmp_cmd(const void *key, const void *elem)
{
	return strcmp(key, ((const struct lb_cmd *)elem)->name);
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: llmbench [--version] [--help] [-v] <verb> [<args>]\n\n"
		   "Benchmark and evaluate LLM inference: in-process llama.cpp models and\n"
		   "OpenAI-compatible endpoints; results in SQLite, reports, a CI gate.\n\nverbs:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "   %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'llmbench <verb> --help' describes a verb. Exit codes: 0 ok, 1 gate failed,\n"
		   "2 usage or input error, 3 runtime failure.\n");
}

int main(int argc, char **argv)
{
	struct lb_ctx ctx = { 0 };
	const struct lb_cmd *cmd;
	int i, rc;

	ctx.argv0 = argv[0];
	ctx.stderr_tty = isatty(STDERR_FILENO);
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
			fprintf(stderr, "llmbench: error: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc) {
			cmd = bsearch(argv[i + 1], commands, sizeof(commands) / sizeof(commands[0]),
				      sizeof(commands[0]), cmp_cmd);
			if (cmd) {
				char *av[] = { argv[i + 1], (char *)"--help", NULL };
				return cmd->fn(2, av, &ctx);
			}
		}
		usage(stdout);
		return 0;
	}
	cmd = bsearch(argv[i], commands, sizeof(commands) / sizeof(commands[0]), sizeof(commands[0]),
		      cmp_cmd);
	if (!cmd) {
		fprintf(stderr, "llmbench: error: '%s' is not a verb; see 'llmbench --help'\n", argv[i]);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "llmbench: error: cannot initialise libcurl\n");
		return 3;
	}
	rc = cmd->fn(argc - i, argv + i, &ctx);
	curl_global_cleanup();
	return rc;
}
