/* fuzz_qa.c: libFuzzer target for the QA pattern loader: datasets/qa.c parses the bytes as a QA
 * JSONL file, then every item's patterns are compiled and matched against its own question and
 * answer (metrics/grade.c), as the eval phase does before any request. Also the theory Markdown
 * and the TruthfulQA-layout parsers on the same bytes.
 * Input: the file. Needs the library (qa.c, mc.c, theory.c, grade.c); links pcre2-8 and cjson. */
#include "../../datasets/mc.h"
#include "../../datasets/qa.h"
#include "../../datasets/theory.h"
#include "../../metrics/grade.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qa_set qa = { 0 };
	struct mc_set mc = { 0 };
	struct theory_set th = { 0 };
	struct lb_error err = LB_ERROR_INIT;
	size_t i;

	if (!qa_parse((const char *)data, size, "fuzz.jsonl", 64, &qa, &err)) {
		for (i = 0; i < qa.n; i++) {
			const struct qa_item *it = &qa.v[i];
			struct grader g;

			if (!it->n_correct)
				continue;
			if (grader_init(&g, (const char *const *)it->correct, it->n_correct,
					(const char *const *)it->wrong, it->n_wrong,
					(const char *const *)it->abstain, it->n_abstain, &err))
				continue;
			(void)grader_grade(&g, it->question, strlen(it->question));
			if (it->answer)
				(void)grader_grade(&g, it->answer, strlen(it->answer));
			grader_release(&g);
		}
	}
	qa_set_release(&qa);
	(void)mc_parse((const char *)data, size, "fuzz.json", 64, &mc, &err);
	mc_set_release(&mc);
	(void)theory_parse((const char *)data, size, "fuzz.md", 64, &th, &err);
	theory_set_release(&th);
	(void)grade_yesno((const char *)data, size);
	(void)grade_judge_reply((const char *)data, size);
	return 0;
}
