/* llama_common.h: the glue every llama.cpp user in llmbench shares: one-time initialisation
 * (CPU backend modules, llama_backend_init, a quiet log callback), model loading with clear
 * errors, and tokenize/detokenize helpers that allocate with lb_malloc.
 *
 * Built with and without llama.cpp: without it (no LB_HAVE_LLAMA) every function fails with
 * LB_ERR_UNSUPPORTED and LLAMA_COMMON_NOT_BUILT as the message.
 *
 * Logging: llama.cpp's own messages below warnings are dropped; warnings and errors go to
 * stderr prefixed "llama.cpp: ". LLMBENCH_LLAMA_LOG=1 passes everything through;
 * LLMBENCH_LLAMA_LOG=0 drops everything. The last error llama.cpp logged is kept (per thread)
 * so that failures can quote it. */
#ifndef LB_LLAMA_COMMON_H
#define LB_LLAMA_COMMON_H

#include "../base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef LB_HAVE_LLAMA
#include <llama.h>
#else
struct llama_model;
struct llama_vocab;
struct llama_context;
#endif

struct strbuf;

#define LLAMA_COMMON_NOT_BUILT \
	"llama.cpp is not built in (run 'make deps' or build with LLAMA_PREFIX=/path)"

/* True when this build has llama.cpp. This function can't fail. */
bool llama_common_available(void);

/* Fill err with LLAMA_COMMON_NOT_BUILT and return LB_ERR_UNSUPPORTED. */
int llama_common_unsupported(struct lb_error *err);

/* Load the CPU backend modules (from $LLMBENCH_LLAMA_LIBDIR, else the build's LB_LLAMA_LIBDIR),
 * call llama_backend_init and install the log callback, once per process (thread-safe).
 * The prebuilt library has one libggml-cpu-<variant>.so per CPU family (x64, sse42, haswell,
 * skylakex, icelake, zen4, ...); llama.cpp loads the one that scores best on this CPU. With
 * $LLMBENCH_LLAMA_CPU=<variant> exactly that one is loaded (docs/reliability.md: the test
 * suite runs on other variants so that a kernel difference shows in CI). Fails with
 * LB_ERR_BACKEND when no compute device could be loaded, or the forced variant is missing or
 * needs instructions this CPU lacks. */
int llama_common_init(struct lb_error *err);

/* After llama_common_init: "<variant or 'best variant for this CPU'>: AVX AVX2 ..." (the CPU
 * backend's features), "" before or without llama.cpp. This function can't fail. */
const char *llama_common_cpu(void);

/* Default thread count: the online CPUs (at least 1). This function can't fail. */
int llama_common_default_threads(void);

/* Load a GGUF model (CPU; n_gpu_layers < 0: llama.cpp's default). Calls llama_common_init.
 * A missing/unreadable file or one that is not a GGUF llama.cpp can load fails with
 * LB_ERR_USAGE naming the path and llama.cpp's reason. *out is set only on success; free it
 * with llama_model_free (or llama_common_model_free). */
int llama_common_model_load(const char *path, int n_gpu_layers, struct llama_model **out,
			    struct lb_error *err);
/* Load only the vocabulary of a GGUF (a model, or a ggml-vocab-*.gguf file): no weights, for
 * tokenizing. Same errors; free with llama_common_model_free. */
int llama_common_vocab_load(const char *path, struct llama_model **out, struct lb_error *err);
void llama_common_model_free(struct llama_model *model); /* NULL-safe */
/* A loaded model's vocabulary, its size and whether it adds BOS (NULL, 0 and false without
 * llama.cpp). This function can't fail. */
const struct llama_vocab *llama_common_model_vocab(const struct llama_model *m, int32_t *n_tokens,
						   bool *add_bos);

/* Check that path is an existing regular file that starts with the GGUF magic and whose
 * header parses (gguf_init_from_file); LB_ERR_USAGE with a clear message otherwise. Does not
 * need llama_common_init. */
int llama_common_gguf_check(const char *path, struct lb_error *err);

/* Tokenize text[0..len) into a new lb_malloc'd array *out of *n_out tokens. add_special: add
 * BOS/EOS as the vocabulary says; parse_special: recognise special tokens in the text. */
int llama_common_tokenize(const struct llama_vocab *vocab, const char *text, size_t len,
			  bool add_special, bool parse_special, int32_t **out, size_t *n_out,
			  struct lb_error *err);

/* Append the text of one token to sb (special: render control tokens). */
int llama_common_piece(const struct llama_vocab *vocab, int32_t token, bool special,
		       struct strbuf *sb, struct lb_error *err);

/* Append the text of tokens[0..n) to sb as llama_detokenize renders it. */
int llama_common_detokenize(const struct llama_vocab *vocab, const int32_t *tokens, size_t n,
			    bool remove_special, bool unparse_special, struct strbuf *sb,
			    struct lb_error *err);

/* The last error message llama.cpp logged on this thread ("" if none); cleared by
 * llama_common_clear_last_error. */
const char *llama_common_last_error(void);
void llama_common_clear_last_error(void);

#endif
