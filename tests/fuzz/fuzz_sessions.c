/* fuzz_sessions.c: libFuzzer target for the conversations loader (datasets/sessions.c):
 * ShareGPT and OpenAI-shaped files come from outside, and so do generator specs.
 *
 * Input: the file's text (a JSON array, JSONL or a spec without "file"). A parse that fails must
 * say why and leave nothing; one that succeeds must give conversations with at least one
 * non-empty user turn each, and at most SESSIONS_MAX_TURNS. Needs: datasets/sessions.c
 * datasets/dataset.c base/jsoncfg.c base/strbuf.c base/alloc.c base/error.c base/suggest.c (or the
 * whole build-fuzz/libllmbench.a); links -lcjson -lm. */
#include "../../datasets/sessions.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_sessions s;
	struct lb_error err = LB_ERROR_INIT;
	size_t i;

	if (size > 1 << 16)
		return 0; /* a generator spec may ask for many sessions: keep runs short */
	if (sessions_parse((const char *)data, size, "fuzz", 64, &s, &err)) {
		if (!err.msg[0] || s.n)
			abort();
		return 0;
	}
	if (!s.n || s.n > 64)
		abort();
	for (i = 0; i < s.n; i++) {
		if (!s.v[i].n_turns || s.v[i].n_turns > SESSIONS_MAX_TURNS || !s.v[i].id ||
		    !s.v[i].turns[0].user || !s.v[i].turns[0].user[0])
			abort();
	}
	sessions_free(&s);
	return 0;
}
