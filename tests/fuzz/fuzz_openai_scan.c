/* fuzz_openai_scan.c: libFuzzer target for the lean chunk path (backends/openai_scan.c),
 * differential against the full parse (backends/openai_json.c).
 *
 * Input: the bytes are one chunk's JSON. For both APIs, wherever oai_chunk_scan answers,
 * oai_chunk_parse must accept the same bytes and say the same: choice present, text bytes and
 * length, finish_reason, usage and timings, no error. oai_chunk_read must equal whichever path
 * decided. Any difference aborts.
 * Needs: the whole build-fuzz/libllmbench.a; links -lcjson -lm. */
#include "../../backends/openai_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_str(const char *a, size_t alen, const char *b, size_t blen)
{
	if (!a || !b)
		return a == b;
	return alen == blen && !memcmp(a, b, alen);
}

static void check(enum oai_api api, const char *s, size_t size)
{
	struct lb_error err = LB_ERROR_INIT;
	struct oai_chunk a, b;

	if (!oai_chunk_scan(&a, api, s, size)) {
		oai_chunk_release(&a);
		return;
	}
	if (!a.scanned || a.root || a.is_error)
		abort();
	if (oai_chunk_parse(&b, api, s, size, &err))
		abort(); /* the scan accepted what the full parser rejects */
	if (a.has_choice != b.has_choice || b.is_error ||
	    !same_str(a.text, a.text_len, b.text, b.text_len) ||
	    !same_str(a.finish_reason, a.finish_reason ? strlen(a.finish_reason) : 0,
		      b.finish_reason, b.finish_reason ? strlen(b.finish_reason) : 0) ||
	    a.usage_prompt != b.usage_prompt || a.usage_completion != b.usage_completion ||
	    a.prompt_ms != b.prompt_ms || a.predicted_ms != b.predicted_ms)
		abort();
	if (a.text && (a.text < s || a.text + a.text_len > s + size))
		abort();
	oai_chunk_release(&a);
	oai_chunk_release(&b);
	/* the combined entry point takes the scan's answer */
	if (oai_chunk_read(&a, api, s, size, &err) || !a.scanned)
		abort();
	oai_chunk_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(OAI_API_COMPLETIONS, (const char *)data, size);
	check(OAI_API_CHAT, (const char *)data, size);
	return 0;
}
