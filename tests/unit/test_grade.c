/* test_grade.c: regex grading of answers (metrics/grade.c) and the QA loader (datasets/qa.c):
 * each class of answer (correct phrasings, known-wrong, abstention, empty, unmatched), invalid
 * patterns with their offset, the Yes/No and judge verdicts, and the shipped QA set graded
 * against its own reference answers. Run from the top of the tree (tests/run.sh does). */
#include "../../datasets/qa.h"
#include "../../metrics/grade.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static enum grade grade1(const char *const *corr, size_t nc, const char *const *wrong, size_t nw,
			 const char *answer)
{
	struct grader g;
	struct lb_error err = LB_ERROR_INIT;
	enum grade r;

	assert_int_equal(grader_init(&g, corr, nc, wrong, nw, NULL, 0, &err), 0);
	r = grader_grade(&g, answer, answer ? strlen(answer) : 0);
	grader_release(&g);
	return r;
}

static const char *const canberra[] = { "\\bcanberra\\b" };
static const char *const canberra_wrong[] = { "\\bsydney\\b", "\\bmelbourne\\b" };
static const char *const seven[] = { "(?<![\\d.,])(?:7)(?![\\d])", "\\b(?:seven)\\b" };

static void correct_phrasings_are_correct(void **state)
{
	(void)state;
	assert_int_equal(grade1(canberra, 1, canberra_wrong, 2, "Canberra"), GRADE_CORRECT);
	assert_int_equal(grade1(canberra, 1, canberra_wrong, 2, "The capital is canberra."),
			 GRADE_CORRECT);
	assert_int_equal(grade1(canberra, 1, canberra_wrong, 2, "  CANBERRA, in the ACT\n"),
			 GRADE_CORRECT);
	assert_int_equal(grade1(seven, 2, NULL, 0, "There are seven."), GRADE_CORRECT);
	assert_int_equal(grade1(seven, 2, NULL, 0, "7 continents"), GRADE_CORRECT);
	assert_int_equal(grade1(seven, 2, NULL, 0, "Seven"), GRADE_CORRECT);
}

static void known_wrong_is_incorrect_even_beside_the_right_one(void **state)
{
	(void)state;
	assert_int_equal(grade1(canberra, 1, canberra_wrong, 2, "Sydney"), GRADE_INCORRECT);
	assert_int_equal(grade1(canberra, 1, canberra_wrong, 2, "Canberra or maybe Sydney"),
			 GRADE_INCORRECT);
	/* 17 and 70 are not 7 */
	assert_int_equal(grade1(seven, 2, NULL, 0, "17"), GRADE_INCORRECT);
	assert_int_equal(grade1(seven, 2, NULL, 0, "70 of them"), GRADE_INCORRECT);
	assert_int_equal(grade1(seven, 2, NULL, 0, "7.5"), GRADE_CORRECT); /* 7 then .5 */
}

static void abstentions_are_not_attempted(void **state)
{
	static const char *const a[] = {
		"I don't know.",     "I do not know the answer.", "I’m not sure.",
		"I am not certain.", "I cannot answer that.",	  "I have no information about it.",
		"No idea.",	     "Unknown",			  "I don't have enough information.",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		if (grade1(canberra, 1, canberra_wrong, 2, a[i]) != GRADE_NOT_ATTEMPTED)
			fail_msg("not an abstention: '%s'", a[i]);
	}
	/* an abstention with a right guess is a hedged correct answer (SimpleQA) */
	assert_int_equal(grade1(canberra, 1, NULL, 0, "I don't know, maybe Canberra"),
			 GRADE_CORRECT);
	/* "known" alone is no abstention */
	assert_int_equal(grade1(canberra, 1, NULL, 0, "Canberra is well known"), GRADE_CORRECT);
}

/* Tricky answers and their grades, as SimpleQA grades them (docs/quality.md "Grading"): A is an
 * answerable item (correct \bcanberra\b, wrong \bsydney\b, \bmelbourne\b), U an unanswerable one
 * (the default premise patterns). Negations, hedges, "not" inside a wrong answer, abstentions
 * with a guess. The old grading (an abstention anywhere wins, a premise pattern anywhere is
 * correct, negation ignored) got 29 of these 50 wrong, "King Otto. There is no doubt." among
 * them (issue 12 case 6). */
static const struct tricky {
	bool unanswerable;
	const char *answer;
	enum grade want;
} tricky[] = {
	{ false, "Canberra", GRADE_CORRECT },
	{ false, "I think it's Canberra.", GRADE_CORRECT },
	{ false, "I'm not sure, but I believe it is Canberra.", GRADE_CORRECT },
	{ false, "Probably Canberra, though I'm not certain.", GRADE_CORRECT },
	{ false, "I don't know, maybe Canberra", GRADE_CORRECT },
	{ false, "I'm not sure, I think it might be Canberra", GRADE_CORRECT },
	{ false, "It is definitely Canberra. There is no doubt.", GRADE_CORRECT },
	{ false, "It is not Sydney; it is Canberra.", GRADE_CORRECT },
	{ false, "Canberra, not Sydney.", GRADE_CORRECT },
	{ false, "Canberra rather than Sydney.", GRADE_CORRECT },
	{ false, "Not Melbourne but Canberra.", GRADE_CORRECT },
	{ false, "It isn\u2019t Sydney, it\u2019s Canberra.", GRADE_CORRECT },
	{ false, "Canberra, instead of Melbourne.", GRADE_CORRECT },
	{ false, "I don't know. Maybe Sydney.", GRADE_INCORRECT },
	{ false, "I'm not sure, maybe Perth.", GRADE_INCORRECT },
	{ false, "It isn't Canberra, it's Sydney.", GRADE_INCORRECT },
	{ false, "It is not Canberra.", GRADE_INCORRECT },
	{ false, "Sydney, not Canberra.", GRADE_INCORRECT },
	{ false, "Sydney. I'm not sure though.", GRADE_INCORRECT },
	{ false, "Perth. I don't know for sure.", GRADE_INCORRECT },
	{ false, "The capital is Perth, I don't know", GRADE_INCORRECT },
	{ false, "Canberra or Sydney, I don't know which.", GRADE_INCORRECT },
	{ false, "I cannot say for sure, but it could be Melbourne.", GRADE_INCORRECT },
	{ false, "No idea, perhaps Perth?", GRADE_INCORRECT },
	{ false, "I do not know; my guess is Perth.", GRADE_INCORRECT },
	{ false, "I don't know.", GRADE_NOT_ATTEMPTED },
	{ false, "Sorry, I don't know.", GRADE_NOT_ATTEMPTED },
	{ false, "I don't know. Sorry!", GRADE_NOT_ATTEMPTED },
	{ false, "Honestly, I have no idea.", GRADE_NOT_ATTEMPTED },
	{ false, "Unknown.", GRADE_NOT_ATTEMPTED },
	{ false, "I'm not sure. You may want to check an atlas.", GRADE_NOT_ATTEMPTED },
	{ false, "", GRADE_NOT_ATTEMPTED },
	{ true, "King Otto. There is no doubt.", GRADE_INCORRECT },
	{ true, "It was King Otto, there is no doubt.", GRADE_INCORRECT },
	{ true, "King Otto is not known to many historians.", GRADE_INCORRECT },
	{ true, "I'm not sure, but it was probably King Otto.", GRADE_INCORRECT },
	{ true, "It is not fictional; the first king was Otto.", GRADE_INCORRECT },
	{ true, "Zembrovia is not a real country, but its first king was Otto.", GRADE_INCORRECT },
	{ true, "The first king of Zembrovia was Otto the Great.", GRADE_INCORRECT },
	{ true, "Otto. It is fictional.", GRADE_INCORRECT },
	{ true, "I'm not aware of any such kingdom, but if it existed its king was Otto.",
	  GRADE_INCORRECT },
	{ true, "There is no king of Zembrovia; it is a fictional country.", GRADE_CORRECT },
	{ true, "Zembrovia is a fictional country, so it had no king.", GRADE_CORRECT },
	{ true, "There is no record of such a person.", GRADE_CORRECT },
	{ true, "Zembrovia does not exist.", GRADE_CORRECT },
	{ true, "That is a made-up place. Sorry.", GRADE_CORRECT },
	{ true, "I have no information about Zembrovia; it may be fictional.", GRADE_CORRECT },
	{ true, "There was no king; Zembrovia never existed.", GRADE_CORRECT },
	{ true, "I don't know.", GRADE_NOT_ATTEMPTED },
	{ true, "Sorry, I have no idea.", GRADE_NOT_ATTEMPTED },
};

static void tricky_answers_grade_as_simpleqa(void **state)
{
	struct grader a, u;
	struct lb_error err = LB_ERROR_INIT;
	size_t i, np, bad = 0;
	const char *const *premise = grade_default_premise(&np);

	(void)state;
	assert_true(sizeof(tricky) / sizeof(tricky[0]) >= 40);
	assert_int_equal(grader_init(&a, canberra, 1, canberra_wrong, 2, NULL, 0, &err), 0);
	assert_int_equal(grader_init(&u, premise, np, NULL, 0, NULL, 0, &err), 0);
	u.unanswerable = true;
	for (i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
		const struct tricky *t = &tricky[i];
		enum grade r = grader_grade(t->unanswerable ? &u : &a, t->answer, strlen(t->answer));

		if (r != t->want) {
			print_message("%s item, '%s': %s, want %s\n", t->unanswerable ? "U" : "A",
				      t->answer, grade_name(r), grade_name(t->want));
			bad++;
		}
	}
	grader_release(&a);
	grader_release(&u);
	assert_int_equal(bad, 0);
}

static void empty_answers_are_not_attempted(void **state)
{
	(void)state;
	assert_int_equal(grade1(canberra, 1, NULL, 0, ""), GRADE_NOT_ATTEMPTED);
	assert_int_equal(grade1(canberra, 1, NULL, 0, " \n\t "), GRADE_NOT_ATTEMPTED);
	assert_int_equal(grade1(canberra, 1, NULL, 0, NULL), GRADE_NOT_ATTEMPTED);
}

static void unmatched_answers_are_incorrect(void **state)
{
	(void)state;
	assert_int_equal(grade1(canberra, 1, canberra_wrong, 2, "Paris"), GRADE_INCORRECT);
	assert_int_equal(grade1(canberra, 1, NULL, 0, "canberrax"), GRADE_INCORRECT);
}

static void own_abstain_patterns_replace_the_defaults(void **state)
{
	static const char *const ab[] = { "\\bpass\\b" };
	struct grader g;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(grader_init(&g, canberra, 1, NULL, 0, ab, 1, &err), 0);
	assert_int_equal(grader_grade(&g, "pass", 4), GRADE_NOT_ATTEMPTED);
	assert_int_equal(grader_grade(&g, "I don't know", 12), GRADE_INCORRECT);
	grader_release(&g);
}

static void invalid_pattern_names_list_index_and_offset(void **state)
{
	static const char *const bad[] = { "\\bok\\b", "(unclosed" };
	struct grader g;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(grader_init(&g, bad, 2, NULL, 0, NULL, 0, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "correct[1]"));
	assert_non_null(strstr(err.msg, "'(unclosed'"));
	assert_non_null(strstr(err.msg, "at offset 9"));
	assert_null(g.correct);
	err = (struct lb_error)LB_ERROR_INIT;
	assert_int_equal(grade_pattern_check("a[b", &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "offset 3"));
	assert_int_equal(grade_pattern_check("a\\d+", &err), 0);
}

static void invalid_utf8_in_an_answer_is_tolerated(void **state)
{
	(void)state;
	assert_int_equal(grade1(canberra, 1, NULL, 0, "\xff\xfe Canberra \xc3"), GRADE_CORRECT);
}

static void yesno_verdicts(void **state)
{
	(void)state;
	assert_int_equal(grade_yesno("Yes", 3), YESNO_YES);
	assert_int_equal(grade_yesno(" no.", 4), YESNO_NO);
	assert_int_equal(grade_yesno("Yes and no", 10), YESNO_BOTH);
	assert_int_equal(grade_yesno("Maybe", 5), YESNO_NEITHER);
	assert_int_equal(grade_yesno("Nope, yesterday", 15), YESNO_NEITHER);
	assert_int_equal(grade_yesno(NULL, 0), YESNO_NEITHER);
	assert_string_equal(yesno_name(YESNO_BOTH), "both");
}

static void judge_replies(void **state)
{
	(void)state;
	assert_int_equal(grade_judge_reply("A", 1), GRADE_CORRECT);
	assert_int_equal(grade_judge_reply(" B: it contradicts", 18), GRADE_INCORRECT);
	assert_int_equal(grade_judge_reply("(C)", 3), GRADE_NOT_ATTEMPTED);
	assert_int_equal(grade_judge_reply("CORRECT", 7), GRADE_CORRECT);
	assert_int_equal(grade_judge_reply("Incorrect.", 10), GRADE_INCORRECT);
	assert_int_equal(grade_judge_reply("NOT_ATTEMPTED", 13), GRADE_NOT_ATTEMPTED);
	assert_int_equal(grade_judge_reply("Answer looks fine", 17), GRADE_NONE);
	assert_int_equal(grade_judge_reply("correct or incorrect", 20), GRADE_NONE);
	/* the article "A" is no grade (issue 18) */
	assert_int_equal(grade_judge_reply("A correct answer would be Canberra.", 35), GRADE_NONE);
	assert_int_equal(grade_judge_reply("An answer that says so is fine", 30), GRADE_NONE);
	assert_int_equal(grade_judge_reply("A CORRECT", 9), GRADE_CORRECT);
	assert_int_equal(grade_judge_reply("A - the answer matches", 22), GRADE_CORRECT);
	assert_int_equal(grade_judge_reply("A.", 2), GRADE_CORRECT);
	assert_int_equal(grade_judge_reply("The grade is INCORRECT.", 23), GRADE_INCORRECT);
	assert_int_equal(grade_judge_reply("A correct answer would be Canberra. B", 37), GRADE_NONE);
}

/* HaluEval's parse (evaluate.py: ans.replace(".", ""), then "Yes" in ans / "No" in ans, both or
 * neither failed) beside llmbench's stricter one (whole words, any case). The expected values
 * follow from those two rules read off the source, by hand. */
static const struct yn_case {
	const char *reply;
	enum yesno halueval, llmbench;
} yn_cases[] = {
	{ "Yes", YESNO_YES, YESNO_YES },
	{ "No", YESNO_NO, YESNO_NO },
	{ "Yes.", YESNO_YES, YESNO_YES },
	{ "No.", YESNO_NO, YESNO_NO },
	{ "yes", YESNO_NEITHER, YESNO_YES },
	{ "no", YESNO_NEITHER, YESNO_NO },
	{ "Nope", YESNO_NO, YESNO_NEITHER },
	{ "Not sure", YESNO_NO, YESNO_NEITHER },
	{ "Yes, No", YESNO_BOTH, YESNO_BOTH },
	{ "Yes, it does.", YESNO_YES, YESNO_YES },
	{ "No, the answer is right.", YESNO_NO, YESNO_NO },
	{ "YES", YESNO_NEITHER, YESNO_YES },
	{ "NO", YESNO_NEITHER, YESNO_NO },
	{ "Y.e.s", YESNO_YES, YESNO_NEITHER },
	{ "N.o.", YESNO_NO, YESNO_NEITHER },
	{ "Yesterday", YESNO_YES, YESNO_NEITHER },
	{ "The answer contains a hallucination: Yes", YESNO_YES, YESNO_YES },
	{ "Nothing is made up.", YESNO_NO, YESNO_NEITHER },
	{ "", YESNO_NEITHER, YESNO_NEITHER },
	{ "Maybe", YESNO_NEITHER, YESNO_NEITHER },
	{ "#Your Judgement#: No", YESNO_NO, YESNO_NO },
	{ "Yes\nNo", YESNO_BOTH, YESNO_BOTH },
	{ "I cannot tell.", YESNO_NEITHER, YESNO_NEITHER },
	{ "Noted. Yes.", YESNO_BOTH, YESNO_YES },
	{ "Yes; Nonetheless it is odd", YESNO_BOTH, YESNO_YES },
	{ " no, yes", YESNO_NEITHER, YESNO_BOTH },
};

static void halueval_and_llmbench_yesno_parsing(void **state)
{
	size_t i, bad = 0;

	(void)state;
	assert_true(sizeof(yn_cases) / sizeof(yn_cases[0]) >= 20);
	for (i = 0; i < sizeof(yn_cases) / sizeof(yn_cases[0]); i++) {
		const struct yn_case *c = &yn_cases[i];
		enum yesno h = grade_yesno_halueval(c->reply, strlen(c->reply));
		enum yesno l = grade_yesno(c->reply, strlen(c->reply));

		if (h != c->halueval || l != c->llmbench) {
			print_message("'%s': halueval %s (want %s), llmbench %s (want %s)\n",
				      c->reply, yesno_name(h), yesno_name(c->halueval), yesno_name(l),
				      yesno_name(c->llmbench));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void qa_loader_reads_items_and_defaults(void **state)
{
	static const char text[] =
		"# comment\n"
		"{\"id\": \"a\", \"question\": \"Q1?\", \"answer\": \"x\", \"correct\": [\"x\"]}\n"
		"\n"
		"{\"question\": \"Q2?\", \"correct\": \"y\", \"wrong\": [\"z\"], \"domain\": \"d\"}\n"
		"{\"id\": 7, \"question\": \"Q3?\", \"answerable\": false}\n";
	struct qa_set s = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(qa_parse(text, sizeof(text) - 1, "t.jsonl", 0, &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.v[0].id, "a");
	assert_int_equal(s.v[0].line, 2);
	assert_string_equal(s.v[1].id, "4");
	assert_int_equal(s.v[1].n_correct, 1);
	assert_string_equal(s.v[1].correct[0], "y");
	assert_string_equal(s.v[1].domain, "d");
	assert_string_equal(s.v[2].id, "7");
	assert_false(s.v[2].answerable);
	assert_int_equal(s.v[2].n_correct, 0);
	qa_set_release(&s);
	assert_int_equal(qa_parse(text, sizeof(text) - 1, "t.jsonl", 2, &s, &err), 0);
	assert_int_equal(s.n, 2);
	qa_set_release(&s);
}

static void qa_loader_errors_name_line_item_and_key(void **state)
{
	struct qa_set s = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	static const char unknown[] = "{\"id\": \"q9\", \"question\": \"Q?\", \"corect\": [\"x\"]}\n";
	static const char nocorrect[] = "\n{\"id\": \"q8\", \"question\": \"Q?\"}\n";
	static const char badjson[] = "{\"question\": \n";

	(void)state;
	assert_int_equal(qa_parse(unknown, sizeof(unknown) - 1, "t.jsonl", 0, &s, &err),
			 LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "'t.jsonl':1: item 'q9': unknown key 'corect'"));
	assert_non_null(strstr(err.msg, "valid: id, question"));
	qa_set_release(&s);
	assert_int_equal(qa_parse(nocorrect, sizeof(nocorrect) - 1, "t.jsonl", 0, &s, &err),
			 LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "'t.jsonl':2: item 'q8': 'correct' is required"));
	qa_set_release(&s);
	assert_int_equal(qa_parse(badjson, sizeof(badjson) - 1, "t.jsonl", 0, &s, &err),
			 LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "'t.jsonl':1: malformed JSON"));
	qa_set_release(&s);
	assert_int_equal(qa_parse("\n\n", 2, "t.jsonl", 0, &s, &err), LB_ERR_USAGE);
	qa_set_release(&s);
}

/* The shipped set: >= 150 answerable items over five domains, >= 30 to abstain on; every pattern
 * compiles; each item's own reference answer grades correct; premise rejection is correct, an
 * invented answer incorrect and "I don't know" not attempted on the unanswerable ones. */
static void shipped_qa_set_grades_its_own_answers(void **state)
{
	struct qa_set s = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	size_t i, answerable = 0, unanswerable = 0, np;
	const char *const *premise = grade_default_premise(&np);

	(void)state;
	if (qa_load("datasets/qa/factual.jsonl", 0, &s, &err))
		fail_msg("%s", err.msg);
	for (i = 0; i < s.n; i++) {
		const struct qa_item *it = &s.v[i];
		struct grader g;
		enum grade r;

		if (grader_init(&g, it->n_correct ? (const char *const *)it->correct : premise,
				it->n_correct ? it->n_correct : np, (const char *const *)it->wrong,
				it->n_wrong, (const char *const *)it->abstain, it->n_abstain, &err))
			fail_msg("item '%s': %s", it->id, err.msg);
		g.unanswerable = !it->answerable;
		if (it->answerable) {
			answerable++;
			assert_non_null(it->answer);
			r = grader_grade(&g, it->answer, strlen(it->answer));
			if (r != GRADE_CORRECT)
				fail_msg("item '%s': its answer '%s' grades %s", it->id, it->answer,
					 grade_name(r));
		} else {
			static const char *const yes[] = {
				"That place is fictional.", "There is no such thing.",
				"This cannot be known.", "It does not exist.",
				"There is no record of that."
			};
			size_t k;

			unanswerable++;
			for (k = 0; k < sizeof(yes) / sizeof(yes[0]); k++)
				if (grader_grade(&g, yes[k], strlen(yes[k])) != GRADE_CORRECT)
					fail_msg("item '%s': '%s' not correct", it->id, yes[k]);
			assert_int_equal(grader_grade(&g, "It was Marcus the Third in 1412.", 32),
					 GRADE_INCORRECT);
			assert_int_equal(grader_grade(&g, "I don't know.", 13), GRADE_NOT_ATTEMPTED);
		}
		grader_release(&g);
	}
	assert_true(answerable >= 150);
	assert_true(unanswerable >= 30);
	qa_set_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(correct_phrasings_are_correct),
		cmocka_unit_test(known_wrong_is_incorrect_even_beside_the_right_one),
		cmocka_unit_test(abstentions_are_not_attempted),
		cmocka_unit_test(tricky_answers_grade_as_simpleqa),
		cmocka_unit_test(empty_answers_are_not_attempted),
		cmocka_unit_test(unmatched_answers_are_incorrect),
		cmocka_unit_test(own_abstain_patterns_replace_the_defaults),
		cmocka_unit_test(invalid_pattern_names_list_index_and_offset),
		cmocka_unit_test(invalid_utf8_in_an_answer_is_tolerated),
		cmocka_unit_test(yesno_verdicts),
		cmocka_unit_test(judge_replies),
		cmocka_unit_test(halueval_and_llmbench_yesno_parsing),
		cmocka_unit_test(qa_loader_reads_items_and_defaults),
		cmocka_unit_test(qa_loader_errors_name_line_item_and_key),
		cmocka_unit_test(shipped_qa_set_grades_its_own_answers),
	};
	return cmocka_run_group_tests_name("grade", tests, NULL, NULL);
}
