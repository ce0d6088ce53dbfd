/* fuzz_reply.c: libFuzzer target for the readers of a model's reply (outside input): the
 * SelfCheckGPT reference tokenizer, sentence splitter and unigram score (metrics/selfcheck_ref.c)
 * with the reply as answer and sample, the HaluEval and llmbench Yes/No parses, the judge
 * reply reader, and the QA grader's clause walk on an answerable and an unanswerable item
 * (metrics/grade.c). Input: the reply text. Needs the library; links pcre2-8. */
#include "../../metrics/grade.h"
#include "../../metrics/quality.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const corr[] = { "\\bcanberra\\b" }, *const wrong[] = { "\\bsydney\\b" };
	struct lb_error err = LB_ERROR_INIT;
	struct selfcheck_tokens t;
	struct selfcheck_result r;
	struct grader a, u;
	const char *s1[1];
	char *s = malloc(size + 1);
	size_t np;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	size = strlen(s); /* a reply is text */
	if (!selfcheck_tokenize(s, size, &t))
		selfcheck_tokens_release(&t);
	if (!selfcheck_sentences(s, size, &t))
		selfcheck_tokens_release(&t);
	s1[0] = s;
	if (!quality_selfcheck_ngram_ref(s, s1, 1, &r, &err))
		selfcheck_result_release(&r);
	(void)grade_yesno_halueval(s, size);
	(void)grade_yesno(s, size);
	(void)grade_judge_reply(s, size);
	if (!grader_init(&a, corr, 1, wrong, 1, NULL, 0, &err)) {
		(void)grader_grade(&a, s, size);
		grader_release(&a);
	}
	if (!grader_init(&u, grade_default_premise(&np), np, NULL, 0, NULL, 0, &err)) {
		u.unanswerable = true;
		(void)grader_grade(&u, s, size);
		grader_release(&u);
	}
	free(s);
	return 0;
}
