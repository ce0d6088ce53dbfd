/* trace_vocab.h: token-exact trace prompts through a GGUF vocabulary (trace_vocab.c). */
#ifndef LB_TRACE_VOCAB_H
#define LB_TRACE_VOCAB_H

#include "../base/error.h"
#include "../base/strbuf.h"

#include <stdbool.h>
#include <stdint.h>

struct trace_vocab;

/* Load the vocabulary of the GGUF at path and choose its word tokens. LB_ERR_USAGE for a file
 * llama.cpp cannot load or a vocabulary without enough word tokens; LB_ERR_UNSUPPORTED
 * without llama.cpp. */
int trace_vocab_open(const char *path, struct trace_vocab **out, struct lb_error *err);
void trace_vocab_close(struct trace_vocab *tv); /* NULL-safe */
/* Whether the vocabulary adds BOS (a server counts it in the prompt's tokens). */
bool trace_vocab_add_bos(const struct trace_vocab *tv);
/* Append n word tokens chosen by the bits of x (re-mixed with mix every 8 tokens). */
int trace_vocab_block(const struct trace_vocab *tv, struct strbuf *sb, uint64_t x, long n,
		      uint64_t (*mix)(uint64_t));
/* After the last block: the text as the tokenizer wants it (its first space dropped when the
 * tokenizer adds one itself). */
int trace_vocab_finish(const struct trace_vocab *tv, struct strbuf *sb);
/* Tokenize text (no special tokens): 0 when it is want tokens, 1 when not (*got says how
 * many), else an error code. */
int trace_vocab_check(const struct trace_vocab *tv, const char *text, size_t len, long want,
		      long *got, struct lb_error *err);

#endif
