/* cmd_trace.c: `llmbench trace stats FILE` (what a trace holds before replaying it) and
 * `llmbench trace gen` (a synthetic Mooncake-format trace). datasets/trace.h does the work;
 * docs/cli/trace.md and docs/traffic.md describe them. */
#include "cmd.h"

#include "../base/clock.h"
#include "../base/error.h"
#include "../datasets/dataset.h"
#include "../datasets/trace.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench trace stats [--block-size N] [--json] [--synthesize] FILE\n"
	"       llmbench trace gen --requests N --rate R [--arrival poisson|constant]\n"
	"                          [--input-tokens N|N-M] [--output-tokens N|N-M]\n"
	"                          [--reuse F] [--block-size N] [--seed S] [-o FILE]\n"
	"\n"
	"stats: request count, duration, rate over time (tenths of the duration), input and\n"
	"output length distributions, and the best-case prefix-cache hit rate the hash ids imply\n"
	"(an unbounded cache: a request's leading blocks whose ids came before are hits). Every\n"
	"line is checked first; a bad one is an error naming FILE:LINE (exit 2). --synthesize\n"
	"also builds every prompt as a replay would (the words tokenizer) and prints the time.\n"
	"\n"
	"gen: a Mooncake-format trace (timestamp ms, input_length, output_length, hash_ids).\n"
	"  --requests N              lines to write\n"
	"  --rate R                  requests per second\n"
	"  --arrival KIND            poisson (default) or constant gaps\n"
	"  --input-tokens N|N-M      input length, fixed or uniform (default 1024)\n"
	"  --output-tokens N|N-M     output length (default 128)\n"
	"  --reuse F                 probability (0..1) that a request starts with the whole\n"
	"                            blocks of a random earlier one (default 0)\n"
	"  --block-size N            tokens per hash id (default 512)\n"
	"  --seed S                  (default 1)\n"
	"  -o FILE                   write there (default: stdout)\n"
	"\n"
	"Exit: 0 done, 2 bad option or input, 3 runtime failure.\n";

static int range_arg(const char *opt, const char *arg, long *lo, long *hi)
{
	const char *dash = strchr(arg, '-');
	char buf[32];

	if (!dash) {
		if (cmd_parse_long(arg, lo) || *lo < 1 || *lo > TRACE_MAX_LEN)
			goto bad;
		*hi = *lo;
		return 0;
	}
	if ((size_t)(dash - arg) >= sizeof(buf))
		goto bad;
	memcpy(buf, arg, (size_t)(dash - arg));
	buf[dash - arg] = 0;
	if (cmd_parse_long(buf, lo) || cmd_parse_long(dash + 1, hi) || *lo < 1 || *hi < *lo ||
	    *hi > TRACE_MAX_LEN)
		goto bad;
	return 0;
bad:
	return cmd_usage_error("trace", "%s: '%s' is not N or N-M (1 <= N <= M <= %ld)", opt, arg,
			       TRACE_MAX_LEN);
}

static void print_num(const char *key, double v, bool json, bool last)
{
	if (json)
		printf("\"%s\": %.17g%s", key, v, last ? "" : ", ");
	else
		printf("%s %.6g", key, v);
}

/* Words of a synthesized prompt (single spaces between them): spaces + 1, counted 8 bytes at a
 * time (115 M words of a 100,000-line trace: the byte loop cost as much as the synthesis). */
static double count_words(const char *p)
{
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full, spaces = 0x2020202020202020ull;
	size_t n = strlen(p), i = 0;
	double c = 0;

	if (!n)
		return 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		v ^= spaces; /* a space becomes a zero byte */
		/* high bit of each byte set where it is not zero (no carry crosses bytes) */
		v = ((v & lo7) + lo7) | v;
		c += 8 - __builtin_popcountll(v & ~lo7);
	}
	for (; i < n; i++)
		c += p[i] == ' ';
	return c + 1;
}

static int do_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "block-size", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "synthesize", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lb_error err = LB_ERROR_INIT;
	bool synth = false;
	struct trace t;
	struct trace_stats st;
	long block = TRACE_DEFAULT_BLOCK;
	bool json = false;
	int opt, i;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': fputs(usage_text, stdout); return 0;
		case 'b':
			if (cmd_parse_long(optarg, &block) || block < 1 || block > TRACE_MAX_LEN)
				return cmd_usage_error("trace",
						       "--block-size: '%s' is not a whole "
						       "number >= 1",
						       optarg);
			break;
		case 'j': json = true; break;
		case 'y': synth = true; break;
		case ':':
			return cmd_usage_error("trace", "option '%s' needs a value",
					       argv[optind - 1]);
		default: return cmd_usage_error("trace", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error("trace", "stats takes one FILE");
	if (trace_load(argv[optind], block, 0, &t, &err))
		return cmd_fail(&err);
	if (trace_stats(&t, &st, &err)) {
		trace_free(&t);
		return cmd_fail(&err);
	}
	trace_free(&t);
	if (synth && block != TRACE_DEFAULT_BLOCK)
		return cmd_usage_error("trace",
				       "--synthesize uses the block size 512 of a plain trace "
				       "file (a spec file sets another)");
	if (synth) {
		struct lb_items items = { 0 };
		uint64_t t0 = lb_now_ns();
		double words = 0, secs;
		size_t k;

		if (dataset_load(argv[optind], "trace", 0, &items, &err))
			return cmd_fail(&err);
		secs = (double)(lb_now_ns() - t0) / 1e9;
		for (k = 0; k < items.n; k++)
			words += count_words(items.v[k].prompt);
		printf("synthesized   %zu prompts, %.0f tokens (words) in %.3f s (%.3g tokens/s)\n",
		       items.n, words, secs, secs > 0 ? words / secs : 0);
		lb_items_release(&items);
	}
	if (json) {
		printf("{\"requests\": %zu, ", st.n);
		print_num("duration_s", st.duration_s, true, false);
		print_num("rate", st.rate, true, false);
		print_num("bin_s", st.bin_s, true, false);
		printf("\"bin_rate\": [");
		for (i = 0; i < TRACE_RATE_BINS; i++)
			printf("%s%.17g", i ? ", " : "", st.bin_rate[i]);
		printf("], \"with_lengths\": %zu, ", st.n_len);
		if (st.n_len) {
			print_num("input_mean", st.in_mean, true, false);
			print_num("input_p50", st.in_p50, true, false);
			print_num("input_p90", st.in_p90, true, false);
			print_num("input_p99", st.in_p99, true, false);
			print_num("input_max", st.in_max, true, false);
			print_num("input_total", st.in_total, true, false);
		}
		if (st.out_total > 0) {
			print_num("output_mean", st.out_mean, true, false);
			print_num("output_p50", st.out_p50, true, false);
			print_num("output_p90", st.out_p90, true, false);
			print_num("output_p99", st.out_p99, true, false);
			print_num("output_max", st.out_max, true, false);
			print_num("output_total", st.out_total, true, false);
		}
		printf("\"hash_ids\": %zu, \"unique_hash_ids\": %zu, ", st.total_ids,
		       st.unique_ids);
		if (st.hit_rate >= 0)
			printf("\"best_case_prefix_hit_rate\": %.17g}\n", st.hit_rate);
		else
			printf("\"best_case_prefix_hit_rate\": null, \"best_case_prefix_hit_rate_unavailable\": \"no hash_ids in the trace\"}\n");
		return 0;
	}
	printf("requests      %zu\n", st.n);
	printf("duration      %.3f s (first to last timestamp)\n", st.duration_s);
	if (st.duration_s > 0)
		printf("rate          %.3f req/s\n", st.rate);
	else
		printf("rate          unavailable (all requests at one timestamp)\n");
	if (st.bin_s > 0) {
		printf("rate by tenth of the duration (%.3f s each), req/s:\n ", st.bin_s);
		for (i = 0; i < TRACE_RATE_BINS; i++)
			printf(" %.3g", st.bin_rate[i]);
		printf("\n");
	}
	if (st.n_len)
		printf("input tokens  mean %.1f  p50 %.0f  p90 %.0f  p99 %.0f  max %.0f  total %.0f\n",
		       st.in_mean, st.in_p50, st.in_p90, st.in_p99, st.in_max, st.in_total);
	else
		printf("input tokens  unavailable (text prompts, no input_length)\n");
	if (st.out_total > 0)
		printf("output tokens mean %.1f  p50 %.0f  p90 %.0f  p99 %.0f  max %.0f  total %.0f\n",
		       st.out_mean, st.out_p50, st.out_p90, st.out_p99, st.out_max, st.out_total);
	else
		printf("output tokens unavailable (no output_length)\n");
	if (st.hit_rate >= 0)
		printf("hash ids      %zu (%zu unique), best-case prefix-cache hit rate %.1f%% of "
		       "input tokens\n",
		       st.total_ids, st.unique_ids, 100 * st.hit_rate);
	else
		printf("hash ids      none: the best-case prefix-cache hit rate is unavailable\n");
	return 0;
}

static int do_gen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "requests", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "arrival", required_argument, NULL, 'a' },
		{ "input-tokens", required_argument, NULL, 'i' },
		{ "output-tokens", required_argument, NULL, 'O' },
		{ "reuse", required_argument, NULL, 'u' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trace_gen_cfg cfg = { .requests = 0,
				     .rate = 0,
				     .poisson = 1,
				     .in_min = 1024,
				     .in_max = 1024,
				     .out_min = 128,
				     .out_max = 128,
				     .reuse = 0,
				     .block_size = TRACE_DEFAULT_BLOCK,
				     .seed = 1 };
	struct lb_error err = LB_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	const char *out_path = NULL;
	long v;
	int opt, rc;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': fputs(usage_text, stdout); return 0;
		case 'n':
			if (cmd_parse_long(optarg, &cfg.requests) || cfg.requests < 1 ||
			    cfg.requests > TRACE_MAX_LINES)
				return cmd_usage_error("trace",
						       "--requests: '%s' is not a whole "
						       "number in 1..%ld",
						       optarg, TRACE_MAX_LINES);
			break;
		case 'r':
			if (cmd_parse_double(optarg, &cfg.rate) || !(cfg.rate > 0) ||
			    cfg.rate > 1e6)
				return cmd_usage_error("trace", "--rate: '%s' is not a number > 0",
						       optarg);
			break;
		case 'a':
			if (!strcmp(optarg, "poisson"))
				cfg.poisson = 1;
			else if (!strcmp(optarg, "constant"))
				cfg.poisson = 0;
			else
				return cmd_usage_error("trace",
						       "--arrival: '%s' is not poisson or "
						       "constant",
						       optarg);
			break;
		case 'i':
			if (range_arg("--input-tokens", optarg, &cfg.in_min, &cfg.in_max))
				return 2;
			break;
		case 'O':
			if (range_arg("--output-tokens", optarg, &cfg.out_min, &cfg.out_max))
				return 2;
			break;
		case 'u':
			if (cmd_parse_double(optarg, &cfg.reuse) ||
			    !(cfg.reuse >= 0 && cfg.reuse <= 1))
				return cmd_usage_error(
					"trace", "--reuse: '%s' is not a number in 0..1", optarg);
			break;
		case 'b':
			if (cmd_parse_long(optarg, &cfg.block_size) || cfg.block_size < 1 ||
			    cfg.block_size > TRACE_MAX_LEN)
				return cmd_usage_error("trace",
						       "--block-size: '%s' is not a whole "
						       "number >= 1",
						       optarg);
			break;
		case 's':
			if (cmd_parse_long(optarg, &v) || v < 0)
				return cmd_usage_error(
					"trace", "--seed: '%s' is not a whole number >= 0", optarg);
			cfg.seed = (uint64_t)v;
			break;
		case 'o': out_path = optarg; break;
		case ':':
			return cmd_usage_error("trace", "option '%s' needs a value",
					       argv[optind - 1]);
		default: return cmd_usage_error("trace", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cmd_usage_error("trace", "unexpected argument '%s'", argv[optind]);
	if (!cfg.requests || !cfg.rate)
		return cmd_usage_error("trace", "gen needs --requests and --rate");
	if (trace_gen(&cfg, &sb, &err)) {
		strbuf_release(&sb);
		return cmd_fail(&err);
	}
	if (out_path) {
		FILE *f = fopen(out_path, "w");
		bool bad = !f || fwrite(sb.buf, 1, sb.len, f) != sb.len;

		if ((f && fclose(f)) || bad) {
			lb_error_set(&err, LB_ERR_IO, "cannot write '%s': %s", out_path,
				     strerror(errno));
			strbuf_release(&sb);
			return cmd_fail(&err);
		}
		rc = 0;
	} else {
		rc = fwrite(sb.buf, 1, sb.len, stdout) == sb.len ? 0 : 3;
	}
	strbuf_release(&sb);
	return rc;
}

int cmd_trace(int argc, char **argv, struct lb_ctx *ctx)
{
	(void)ctx;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc < 2)
			return cmd_usage_error("trace", "expected 'stats' or 'gen'");
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "stats"))
		return do_stats(argc - 1, argv + 1);
	if (!strcmp(argv[1], "gen"))
		return do_gen(argc - 1, argv + 1);
	return cmd_usage_error("trace", "unknown subcommand '%s' (stats or gen)", argv[1]);
}
