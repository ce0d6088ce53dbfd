/* cmd_sessions.c: `llmbench sessions stats PATH`: what a conversations file or spec holds
 * before a multi-turn run (datasets/sessions.h does the work; docs/cli/sessions.md and
 * docs/traffic.md#multi-turn-sessions describe it). Every conversation is checked first. */
#include "cmd.h"

#include "../base/alloc.h"
#include "../base/error.h"
#include "../datasets/sessions.h"
#include "../metrics/stats.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: llmbench sessions stats [--json] PATH\n"
	"\n"
	"stats: what a dataset of format \"sessions\" holds: conversations, user turns per\n"
	"conversation, words per user turn (the simulator's tokens), system prompts, think\n"
	"times, reply lengths asked for, and the model turns of the file that a run does not\n"
	"send (the model's own replies are sent instead). PATH is a ShareGPT or OpenAI-messages\n"
	"file (.json array or .jsonl) or a spec (.json: {\"file\": ...} or a generator). Every\n"
	"conversation is checked first; a bad one is an error naming PATH:LINE (exit 2).\n"
	"  --json      one JSON object instead of the text lines\n"
	"\n"
	"Exit: 0 done, 2 bad option or input, 3 runtime failure.\n";

static long words(const char *s)
{
	long n = 0;
	bool in = false;

	for (; *s; s++) {
		bool sp = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';

		n += !sp && !in;
		in = !sp;
	}
	return n;
}

struct col {
	double *v;
	size_t n;
	struct lb_stats st;
};

static void out_stats(const char *name, struct col *c, bool json, bool last)
{
	stats_compute(c->v, c->n, &c->st);
	if (json)
		printf("\"%s\": {\"n\": %zu, \"mean\": %.17g, \"p50\": %.17g, \"max\": %.17g}%s",
		       name, c->n, c->n ? c->st.mean : 0, c->n ? c->st.p50 : 0,
		       c->n ? c->st.max : 0, last ? "" : ", ");
	else if (c->n)
		printf("%-22s n %zu  mean %.4g  p50 %.4g  max %.4g\n", name, c->n, c->st.mean,
		       c->st.p50, c->st.max);
	else
		printf("%-22s none\n", name);
}

static int do_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lb_error err = LB_ERROR_INIT;
	struct col turns = { 0 }, uw = { 0 }, think = { 0 }, outt = { 0 };
	struct lb_sessions s;
	size_t i, t, n_turns, n_system = 0;
	bool json = false;
	int opt, rc = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': fputs(usage_text, stdout); return 0;
		case 'j': json = true; break;
		case ':':
			return cmd_usage_error("sessions", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cmd_usage_error("sessions", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error("sessions", "stats takes one PATH");
	if (sessions_load(argv[optind], 0, &s, &err))
		return cmd_fail(&err);
	n_turns = sessions_turns(&s);
	turns.v = lb_calloc(s.n, sizeof(double));
	uw.v = lb_calloc(n_turns, sizeof(double));
	think.v = lb_calloc(n_turns, sizeof(double));
	outt.v = lb_calloc(n_turns, sizeof(double));
	if (!turns.v || !uw.v || !think.v || !outt.v) {
		lb_error_set(&err, LB_ERR_NOMEM, "out of memory");
		rc = cmd_fail(&err);
		goto out;
	}
	for (i = 0; i < s.n; i++) {
		const struct lb_conv *cv = &s.v[i];

		n_system += cv->system != NULL;
		turns.v[turns.n++] = (double)cv->n_turns;
		for (t = 0; t < cv->n_turns; t++) {
			uw.v[uw.n++] = (double)words(cv->turns[t].user);
			if (t)
				think.v[think.n++] = cv->turns[t].think_ms;
			if (cv->turns[t].max_tokens > 0)
				outt.v[outt.n++] = cv->turns[t].max_tokens;
		}
	}
	if (json)
		printf("{\"conversations\": %zu, \"user_turns\": %zu, \"with_system\": %zu, "
		       "\"model_turns_not_sent\": %zu, ",
		       s.n, n_turns, n_system, s.model_turns);
	else
		printf("conversations          %zu (%zu with a system prompt)\n"
		       "user turns             %zu\n"
		       "model turns not sent   %zu (a run sends the model's own replies)\n",
		       s.n, n_system, n_turns, s.model_turns);
	out_stats("turns_per_conversation", &turns, json, false);
	out_stats("user_turn_words", &uw, json, false);
	out_stats("think_ms", &think, json, false);
	out_stats("reply_tokens", &outt, json, true);
	if (json)
		printf("}\n");
	else if (!outt.n)
		printf("(no reply lengths given: the workload's max_tokens applies)\n");
out:
	lb_free(turns.v);
	lb_free(uw.v);
	lb_free(think.v);
	lb_free(outt.v);
	sessions_free(&s);
	return rc;
}

int cmd_sessions(int argc, char **argv, struct lb_ctx *ctx)
{
	(void)ctx;
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "stats"))
		return do_stats(argc - 1, argv + 1);
	if (argc < 2)
		return cmd_usage_error("sessions", "missing subcommand (stats)");
	return cmd_usage_error("sessions", "unknown subcommand '%s' (expected stats)", argv[1]);
}
