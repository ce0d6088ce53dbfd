/* test_sessions.c: multi-turn conversations (datasets/sessions.c): ShareGPT arrays and JSONL,
 * the OpenAI messages shape, model turns left out, a spec with a file and a think time, the
 * generator (exact word counts, deterministic for a seed), and bad input as one error naming
 * file:line before anything is sent. */
#include "../../datasets/dataset.h"
#include "../../datasets/sessions.h"
#include "../../metrics/sessions_fig.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char dir[] = "/tmp/llmbench-test-sessions.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
	static char path[4][600];
	static int k;
	FILE *f;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", dir, name);
	f = fopen(path[k], "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path[k];
}

static long words(const char *s)
{
	long n = 0;
	int in = 0;

	for (; *s; s++) {
		if (*s == ' ')
			in = 0;
		else if (!in) {
			in = 1;
			n++;
		}
	}
	return n;
}

static void sharegpt_array_and_messages_lines(void **state)
{
	struct lb_sessions s;
	struct lb_error err = LB_ERROR_INIT;
	const char *p;

	(void)state;
	p = write_file("a.json",
		       "[\n"
		       "  {\"id\": \"c1\", \"conversations\": [\n"
		       "    {\"from\": \"system\", \"value\": \"be brief\"},\n"
		       "    {\"from\": \"human\", \"value\": \"hello\"},\n"
		       "    {\"from\": \"gpt\", \"value\": \"NOT SENT\"},\n"
		       "    {\"from\": \"human\", \"value\": \"and then?\"}]},\n"
		       "  {\"conversations\": [{\"from\": \"human\", \"value\": \"one\"}]}\n"
		       "]\n");
	assert_int_equal(sessions_load(p, 0, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0].id, "c1");
	assert_string_equal(s.v[0].system, "be brief");
	assert_int_equal(s.v[0].n_turns, 2);
	assert_string_equal(s.v[0].turns[1].user, "and then?");
	assert_int_equal(s.v[0].line, 2);
	assert_int_equal(s.v[1].line, 7);
	assert_string_equal(s.v[1].id, "7"); /* no id: its line */
	assert_int_equal(s.model_turns, 1);
	sessions_free(&s);

	p = write_file("b.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"q1\"}, "
				  "{\"role\": \"assistant\", \"content\": \"a1\"}, "
				  "{\"role\": \"user\", \"content\": \"q2\"}]}\n\n"
				  "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n");
	assert_int_equal(sessions_load(p, 1, &s, &err), 0);
	assert_int_equal(s.n, 1); /* the limit */
	assert_int_equal(s.v[0].n_turns, 2);
	assert_null(s.v[0].system);
	sessions_free(&s);
}

static void expect_error(const char *name, const char *text, const char *want)
{
	struct lb_sessions s;
	struct lb_error err = LB_ERROR_INIT;
	const char *p = write_file(name, text);

	assert_true(sessions_load(p, 0, &s, &err) < 0);
	if (!strstr(err.msg, want))
		fail_msg("'%s' lacks '%s'", err.msg, want);
	assert_int_equal(s.n, 0);
}

static void bad_input_names_file_and_line(void **state)
{
	(void)state;
	expect_error("e1.json",
		     "[\n{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}]},\n"
		     "{\"conversations\": [{\"from\": \"gpt\", \"value\": \"b\"}]}\n]",
		     "e1.json':3: a conversation without a user turn");
	expect_error("e2.jsonl",
		     "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}\n"
		     "{\"messages\": [{\"role\": \"user\", \"content\": 7}]}\n",
		     "e2.jsonl':2: messages[0]: expected an object with 'role' (a string) and "
		     "'content' (a string)");
	expect_error("e3.jsonl", "{\"conversations\": [{\"from\": \"robot\", \"value\": \"a\"}]}\n",
		     "e3.jsonl':1: conversations[0]: unknown from \"robot\"");
	expect_error("e4.jsonl",
		     "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, "
		     "{\"role\": \"system\", \"content\": \"late\"}]}\n",
		     "e4.jsonl':1: messages[1]: one system turn");
	expect_error("e5.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}\n",
		     "e5.jsonl':1: malformed JSON");
	expect_error("e6.json", "[\n{\"conversations\": []},\n", "e6.json':2:");
	expect_error("e7.json", "{\"sessions\": 2, \"turn\": 3}", "did you mean 'turns'");
	expect_error("e8.json", "{\"sessions\": 2, \"turns\": [3, 1]}",
		     "turns: min 3 is above max 1");
	expect_error("e9.json", "{\"turns\": 2}", "either \"file\"");
	expect_error("e10.json", "[]", "no conversation");
	expect_error("e11.jsonl", "[1, 2]\n", "e11.jsonl':1: expected a conversation");
}

static void generator_and_spec_file(void **state)
{
	struct lb_sessions s, s2;
	struct lb_error err = LB_ERROR_INIT;
	const char *p;
	size_t i, t;

	(void)state;
	p = write_file("g.json", "{\"sessions\": 5, \"turns\": [2, 4], \"user_tokens\": 12, "
				 "\"output_tokens\": [3, 9], \"system_tokens\": 7, "
				 "\"think_ms\": [10, 20], \"seed\": 4}");
	assert_int_equal(sessions_load(p, 0, &s, &err), 0);
	assert_int_equal(sessions_load(p, 0, &s2, &err), 0);
	assert_int_equal(s.n, 5);
	for (i = 0; i < s.n; i++) {
		assert_true(s.v[i].n_turns >= 2 && s.v[i].n_turns <= 4);
		assert_int_equal(words(s.v[i].system), 7);
		assert_string_equal(s.v[i].system, s.v[0].system); /* shared by every session */
		assert_int_equal(s.v[i].n_turns, s2.v[i].n_turns);
		assert_true(s.v[i].turns[0].think_ms == 0);
		for (t = 0; t < s.v[i].n_turns; t++) {
			assert_int_equal(words(s.v[i].turns[t].user), 12);
			assert_string_equal(s.v[i].turns[t].user, s2.v[i].turns[t].user);
			assert_true(s.v[i].turns[t].max_tokens >= 3 &&
				    s.v[i].turns[t].max_tokens <= 9);
			if (t)
				assert_true(s.v[i].turns[t].think_ms >= 10 &&
					    s.v[i].turns[t].think_ms <= 20);
		}
	}
	assert_string_not_equal(s.v[0].turns[0].user, s.v[1].turns[0].user);
	sessions_free(&s);
	sessions_free(&s2);

	write_file("conv.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, "
				 "{\"role\": \"user\", \"content\": \"b\"}]}\n");
	p = write_file("f.json", "{\"file\": \"conv.jsonl\", \"think_ms\": 250}");
	assert_int_equal(sessions_load(p, 0, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_true(s.v[0].turns[1].think_ms == 250);
	sessions_free(&s);
	expect_error("f2.json", "{\"file\": \"conv.jsonl\", \"turns\": 3}",
		     "turns applies to generated sessions only");
}

static void the_dataset_format_gives_first_turns(void **state)
{
	struct lb_items it = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	const char *p;

	(void)state;
	p = write_file("d.jsonl", "{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, "
				  "{\"role\": \"user\", \"content\": \"first\"}, "
				  "{\"role\": \"user\", \"content\": \"second\"}]}\n");
	assert_int_equal(dataset_load(p, "sessions", 0, &it, &err), 0);
	assert_int_equal(it.n, 1);
	assert_string_equal(it.v[0].prompt, "first");
	assert_string_equal(it.v[0].messages_json, "[{\"role\":\"system\",\"content\":\"s\"},"
						   "{\"role\":\"user\",\"content\":\"first\"}]");
	lb_items_release(&it);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[700];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* sessions_fig: the peak counts warm-up sessions open at a measured start, an end at that very
 * time is past; the figures are the definitions of docs/METRICS.md. */
static void sessions_figures_and_peak(void **state)
{
	struct sess_span sp[] = {
		{ 100, 400, false }, /* warm-up, open at 200 and 300 */
		{ 200, 300, true },  { 300, 500, true }, /* 300: the first has just ended */
		{ 350, 360, true },
	};
	struct sess_figs f = { 0 };
	long peak = -1;

	(void)state;
	assert_int_equal(sess_peak(sp, 4, &peak), 0);
	assert_int_equal(peak, 3); /* at 350: the warm-up, the second and the third */
	assert_int_equal(sess_peak(sp, 0, &peak), 0);
	assert_int_equal(peak, 0);

	assert_int_equal(sess_outcome_parse("completed"), SESS_COMPLETED);
	assert_int_equal(sess_outcome_parse("failed"), SESS_FAILED);
	assert_int_equal(sess_outcome_parse("cut"), SESS_CUT);
	assert_int_equal(sess_outcome_parse(NULL), SESS_CUT);
	sess_figs_end(&f, SESS_COMPLETED, 3, 1000000000u, 3000000000u);
	sess_figs_end(&f, SESS_COMPLETED, 3, 0, 2000000000u); /* no first send: no duration */
	sess_figs_end(&f, SESS_CUT, 1, 1000000000u, 1500000000u);
	assert_int_equal(f.completed, 2);
	assert_int_equal(f.cut, 1);
	assert_int_equal(f.dur_s.n, 1);
	assert_true(f.dur_s.v[0] == 2.0);
	assert_int_equal(f.turns.n, 3);
	sess_figs_turn(&f, 1, 50, 32);
	sess_figs_turn(&f, 2, 30, -1); /* prompt tokens unknown */
	sess_figs_turn(&f, 2, NAN, 72); /* no token: no figure */
	sess_figs_turn(&f, 17, 5, 500); /* past the turns with figures: later only */
	assert_int_equal(sess_figs_turns(&f), 2);
	assert_int_equal(f.ttft[1].n, 1);
	assert_int_equal(f.n_in[1].n, 0);
	assert_int_equal(f.later.n, 2);
	sess_figs_release(&f);
	assert_null(f.later.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sharegpt_array_and_messages_lines),
		cmocka_unit_test(bad_input_names_file_and_line),
		cmocka_unit_test(generator_and_spec_file),
		cmocka_unit_test(the_dataset_format_gives_first_turns),
		cmocka_unit_test(sessions_figures_and_peak),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
