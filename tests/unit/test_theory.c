/* test_theory.c: the theory-question Markdown (datasets/theory.c): the shipped 50-question file,
 * filled sheets, and malformed entries reported by line. Run from the top of the tree. */
#include "../../datasets/dataset.h"
#include "../../datasets/theory.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static int parse(const char *text, struct theory_set *s, struct lb_error *err)
{
	memset(s, 0, sizeof(*s));
	return theory_parse(text, strlen(text), "t.md", 0, s, err);
}

static void shipped_sheet_has_fifty_questions(void **state)
{
	struct theory_set s = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	size_t i;

	(void)state;
	if (theory_load("datasets/theory/llama-falcon-mistral.md", 0, &s, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(s.n, 50);
	assert_string_equal(s.title, "LLaMA/Falcon/Mistral - Theory Questions");
	assert_string_equal(s.v[0].question, "How do you choose between LLaMA, Falcon, and Mistral "
					     "based on specific deployment constraints and "
					     "performance requirements?");
	assert_int_equal(s.v[0].line, 3);
	for (i = 0; i < s.n; i++) {
		assert_int_equal(s.v[i].number, (long)i + 1);
		assert_string_equal(s.v[i].answer, "_To be filled_");
		assert_true(strlen(s.v[i].question) > 10);
	}
	theory_set_release(&s);
	assert_int_equal(theory_load("datasets/theory/llama-falcon-mistral.md", 5, &s, &err), 0);
	assert_int_equal(s.n, 5);
	theory_set_release(&s);
}

static void registered_as_a_dataset_format(void **state)
{
	struct lb_items items = { 0 };
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(dataset_load("datasets/theory/llama-falcon-mistral.md", "theory", 3,
				      &items, &err),
			 0);
	assert_int_equal(items.n, 3);
	assert_string_equal(items.v[2].id, "3");
	assert_non_null(strstr(items.v[2].prompt, "Mistral 7B"));
	lb_items_release(&items);
	assert_int_equal(dataset_load("datasets/qa/factual.jsonl", "qa", 2, &items, &err), 0);
	assert_int_equal(items.n, 2);
	assert_non_null(items.v[0].reference);
	lb_items_release(&items);
}

static void filled_answers_span_lines(void **state)
{
	static const char text[] = "# T\n\n## Question 1\n**Why?**\n**Answer:** Because.\n"
				   "Second line.\n\n---\n\n## Question 2\n\n**How?**\n\n"
				   "**Answer:**\n";
	struct theory_set s;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(parse(text, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0].answer, "Because.\nSecond line.");
	assert_string_equal(s.v[1].question, "How?");
	assert_string_equal(s.v[1].answer, "");
	assert_int_equal(s.v[1].line, 10);
	theory_set_release(&s);
}

static void malformed_entries_name_their_line(void **state)
{
	struct theory_set s;
	struct lb_error err = LB_ERROR_INIT;

	(void)state;
	assert_int_equal(parse("# T\n## Question 1\nnot bold\n**Answer:** x\n", &s, &err),
			 LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "'t.md':3: question 1: expected the question in bold"));
	theory_set_release(&s);
	assert_int_equal(parse("## Question 1\n**Q?**\n\n## Question 2\n**Q2?**\n**Answer:**\n", &s,
			       &err),
			 LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "'t.md':4: question 1 has no '**Answer:**' line"));
	theory_set_release(&s);
	assert_int_equal(parse("## Question 1\n**Q?**\nAnswer: x\n", &s, &err), LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "'t.md':3: question 1: expected '**Answer:** ...'"));
	theory_set_release(&s);
	assert_int_equal(parse("## Question one\n**Q?**\n**Answer:** x\n", &s, &err),
			 LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "'t.md':1: malformed heading '## Question one'"));
	theory_set_release(&s);
	assert_int_equal(parse("## Question 1\n**A?**\n**Answer:** x\n## Question 1\n**B?**\n"
			       "**Answer:** y\n",
			       &s, &err),
			 LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "'t.md':4: question 1 repeated (first at line 1)"));
	theory_set_release(&s);
	assert_int_equal(parse("## Question 3\n**Q?**\n", &s, &err), LB_ERR_PARSE);
	assert_non_null(strstr(err.msg, "question 3 has no '**Answer:**' line"));
	theory_set_release(&s);
	assert_int_equal(parse("# Only a title\n", &s, &err), LB_ERR_USAGE);
	assert_non_null(strstr(err.msg, "no '## Question N' entries"));
	theory_set_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shipped_sheet_has_fifty_questions),
		cmocka_unit_test(registered_as_a_dataset_format),
		cmocka_unit_test(filled_answers_span_lines),
		cmocka_unit_test(malformed_entries_name_their_line),
	};
	return cmocka_run_group_tests_name("theory", tests, NULL, NULL);
}
