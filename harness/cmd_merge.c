/* cmd_merge.c: `llmbench merge OUT.db IN.db...` — one run from the stores of a sharded run's
 * shards (docs/scale-out.md). */
#include "cmd.h"

#include "../base/clock.h"
#include "../base/error.h"
#include "../metrics/store_merge.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench merge OUT.db IN.db... [--name NAME] [--quiet] [--timing]\n"
	"                      [--sort-values N]\n"
	"\n"
	"Merge the stores of the shards of one sharded run (llmbench run --shard K/N) into one run\n"
	"of OUT.db: every request of every shard, each level's figures recomputed from the union of\n"
	"the rows (exact percentiles; throughput over the union's wall-clock window, the shards'\n"
	"clocks put on one axis by their anchors), each shard's own figures kept beside them\n"
	"(table shard_summaries), server scrapes, and each backend's evaluation rows (evals,\n"
	"mc_choices, eval_texts: from the first shard that has them). report, compare, gate and\n"
	"export read the merged run as any other.\n"
	"\n"
	"  --name NAME  name of the merged run (default: the shards' run name)\n"
	"  --quiet      print nothing but errors\n"
	"  --timing     print each phase's wall and CPU seconds (copy, figures)\n"
	"  --sort-values N  latency values held in memory, all levels together, before the\n"
	"               exact percentiles' sort spills sorted runs to a temporary file in\n"
	"               $TMPDIR (default 524288: 4 MiB); memory does not grow with the rows\n"
	"\n"
	"Shards of different workloads or shard counts, or of another run (shard group), are refused;\n"
	"missing shards are reported (and recorded in the run); a shard given twice, or merged into\n"
	"OUT.db before, adds nothing. A new OUT.db is written whole or not at all.\n"
	"\n"
	"Exit: 0 merged (even with shards missing), 2 bad input (nothing written), 3 runtime failure.\n";

static void print_note(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "llmbench: %s\n", msg);
}

/* The workload's slo section (goodput), read from the stored workload text. */
static void read_slo(const char *json, struct wl_slo *slo)
{
	cJSON *root = json ? cJSON_Parse(json) : NULL;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "slo"), *v;

	memset(slo, 0, sizeof(*slo));
	if (cJSON_IsObject(s)) {
		if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(s, "ttft_ms")))
			slo->ttft_ms = v->valuedouble;
		if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(s, "tpot_ms")))
			slo->tpot_ms = v->valuedouble;
		if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(s, "e2e_ms")))
			slo->e2e_ms = v->valuedouble;
	}
	cJSON_Delete(root);
}

int cmd_merge(int argc, char **argv, struct lb_ctx *ctx)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "timing", no_argument, NULL, 't' },
		{ "sort-values", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct merge_opts o = { 0 };
	struct merge_plan plan;
	struct merge_result res;
	struct lb_error err = LB_ERROR_INIT;
	bool quiet = false;
	uint64_t t0;
	size_t i;
	long sv;
	int c, rc;

	(void)ctx;
	optind = 1;
	while ((c = cmd_getopt(argc, argv, "merge", "h", longopts)) != -1) {
		switch (c) {
		case 'n':
			if (cmd_check_run_name("merge", optarg))
				return 2;
			o.run_name = optarg;
			break;
		case 'q': quiet = true; break;
		case 't': o.timing = true; break;
		case 'S':
			if (cmd_parse_long(optarg, &sv) || sv < 1 || sv > (1L << 30))
				return cmd_usage_error("merge",
						       "--sort-values needs a count from 1 to "
						       "1073741824, got '%s'",
						       optarg);
			o.sort_values = (size_t)sv;
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return 2;
		}
	}
	if (argc - optind < 2)
		return cmd_usage_error("merge",
				       "expected OUT.db and at least one shard store IN.db");
	for (i = (size_t)optind + 1; i < (size_t)argc; i++)
		if (!strcmp(argv[i], argv[optind]))
			return cmd_usage_error("merge", "'%s' is both the output and an input",
					       argv[i]);
	t0 = lb_now_ns();
	rc = store_merge_inspect((const char *const *)argv + optind + 1,
				 (size_t)(argc - optind - 1), &plan, &err);
	if (rc)
		return cmd_fail(&err);
	read_slo(plan.workload_json, &o.slo);
	o.note = quiet && !o.timing ? NULL : print_note;
	rc = store_merge(argv[optind], &plan, &o, &res, &err);
	store_merge_plan_release(&plan);
	if (rc)
		return cmd_fail(&err);
	if (!quiet) {
		double s = (double)(lb_now_ns() - t0) / 1e9;

		printf("merged run '%s' in '%s': %d of %d shards (%d added now), %ld requests added, "
		       "%ld levels; %.2f s (%.0f rows/s)\n",
		       res.run_name, argv[optind], res.shards_present, res.n_shards,
		       res.shards_added, res.rows_added, res.levels, s,
		       s > 0 ? (double)res.rows_added / s : 0);
		if (res.missing[0])
			fprintf(stderr, "llmbench: warning: shards missing from run '%s': %s\n",
				res.run_name, res.missing);
	}
	return 0;
}
