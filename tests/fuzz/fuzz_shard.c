/* fuzz_shard.c: libFuzzer target for the shard spec and --start-at parsers (harness/shard.c).
 *
 * Input: byte 0 picks the parser (even: shard_parse, odd: shard_parse_start_at), byte 1 the
 * --shards count (% 9, 0: none); the rest is the text (NUL-terminated copy). Checks that a
 * parsed spec is in range and that a parsed start time is after "now". */
#include "../../harness/shard.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_error err = LB_ERROR_INIT;
	struct shard_spec spec;
	uint64_t t, now = 1765056600ull * 1000000000ull;
	char *text;

	if (size < 2 || size > 4096)
		return 0;
	text = malloc(size - 1);
	if (!text)
		return 0;
	memcpy(text, data + 2, size - 2);
	text[size - 2] = 0;
	if (data[0] & 1) {
		if (!shard_parse_start_at(text, now, &t, &err) && t <= now)
			abort();
	} else if (strcmp(text, "auto")) { /* auto reads the environment: not this input */
		if (!shard_parse(text, data[1] % 9, &spec, &err) &&
		    (spec.n < 1 || spec.k < 0 || spec.k >= spec.n))
			abort();
	}
	free(text);
	return 0;
}
