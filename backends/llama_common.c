/* llama_common.c: one-time llama.cpp initialisation, model loading, tokenizer helpers. */
#include "llama_common.h"

#include "../base/alloc.h"
#include "../base/strbuf.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#ifdef LB_HAVE_LLAMA
#include <ggml-backend.h>
#include <gguf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#endif

bool llama_common_available(void)
{
#ifdef LB_HAVE_LLAMA
	return true;
#else
	return false;
#endif
}

int llama_common_unsupported(struct lb_error *err)
{
	return lb_error_set(err, LB_ERR_UNSUPPORTED, "%s", LLAMA_COMMON_NOT_BUILT);
}

int llama_common_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

#ifdef LB_HAVE_LLAMA

#define LAST_ERROR_MAX 512

static _Thread_local char last_error[LAST_ERROR_MAX];
static _Thread_local size_t last_error_len;
static _Thread_local enum ggml_log_level last_level;
static _Thread_local bool quiet; /* errors are quoted by the caller: do not print them too */

static int log_mode; /* 0: warnings and errors, 1: everything, -1: nothing */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status;
static char init_msg[LB_ERROR_MSG_MAX];

static void keep_error(const char *text, bool append)
{
	size_t n;

	if (!append)
		last_error_len = 0;
	n = strlen(text);
	if (n > LAST_ERROR_MAX - 1 - last_error_len)
		n = LAST_ERROR_MAX - 1 - last_error_len;
	memcpy(last_error + last_error_len, text, n);
	last_error_len += n;
	while (last_error_len &&
	       (last_error[last_error_len - 1] == '\n' || last_error[last_error_len - 1] == ' '))
		last_error_len--;
	last_error[last_error_len] = '\0';
}

static void log_cb(enum ggml_log_level level, const char *text, void *user)
{
	bool cont = level == GGML_LOG_LEVEL_CONT;
	enum ggml_log_level eff = cont ? last_level : level;

	(void)user;
	if (!cont)
		last_level = level;
	if (eff == GGML_LOG_LEVEL_ERROR)
		keep_error(text, cont);
	if (log_mode < 0 || (quiet && log_mode == 0))
		return;
	if (log_mode == 0 && eff != GGML_LOG_LEVEL_WARN && eff != GGML_LOG_LEVEL_ERROR)
		return;
	if (log_mode == 0 && !cont)
		fputs("llama.cpp: ", stderr);
	fputs(text, stderr);
}

static char cpu_desc[512];

/* A variant name as the prebuilt library spells them: letters, digits, '_' and '-'. */
static bool variant_name_ok(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (!(v[i] >= 'a' && v[i] <= 'z') && !(v[i] >= '0' && v[i] <= '9') && v[i] != '_' &&
		    v[i] != '-')
			return false;
	return i > 0 && i < 64;
}

/* Load the CPU variant named by LLMBENCH_LLAMA_CPU from dir; false (with init_msg) if it
 * cannot be loaded. ggml_backend_load refuses a variant whose score is 0 on this CPU. */
static bool load_forced_variant(const char *dir, const char *variant)
{
	ggml_backend_reg_t reg;
	char path[4096];

	if (!variant_name_ok(variant)) {
		snprintf(init_msg, sizeof(init_msg),
			 "LLMBENCH_LLAMA_CPU='%.64s': expected a CPU variant name such as x64, "
			 "sse42, haswell, skylakex (the <name> of libggml-cpu-<name>.so)",
			 variant);
		return false;
	}
	snprintf(path, sizeof(path), "%s/libggml-cpu-%s.so", dir ? dir : ".", variant);
	quiet = true; /* the message below says it */
	reg = ggml_backend_load(path);
	quiet = false;
	if (!reg) {
		snprintf(init_msg, sizeof(init_msg),
			 "LLMBENCH_LLAMA_CPU=%s: cannot load '%.800s' (no such variant, or this "
			 "CPU lacks the instructions it was built for)",
			 variant, path);
		return false;
	}
	return true;
}

/* "<variant>: FEATURE ..." from the CPU backend's ggml_backend_get_features. */
static void describe_cpu(const char *variant)
{
	ggml_backend_reg_t reg = ggml_backend_reg_by_name("CPU");
	ggml_backend_get_features_t get;
	struct ggml_backend_feature *f;
	size_t n;

	n = (size_t)snprintf(cpu_desc, sizeof(cpu_desc),
			     "%s:", variant ? variant : "best variant for this CPU");
	if (!reg)
		return;
	get = (ggml_backend_get_features_t)ggml_backend_reg_get_proc_address(
		reg, "ggml_backend_get_features");
	for (f = get ? get(reg) : NULL; f && f->name && n < sizeof(cpu_desc); f++) {
		if (!strcmp(f->value, "1"))
			n += (size_t)snprintf(cpu_desc + n, sizeof(cpu_desc) - n, " %s", f->name);
		else
			n += (size_t)snprintf(cpu_desc + n, sizeof(cpu_desc) - n, " %s=%s", f->name,
					      f->value);
	}
}

static void do_init(void)
{
	const char *env = getenv("LLMBENCH_LLAMA_LOG");
	const char *dir = getenv("LLMBENCH_LLAMA_LIBDIR");
	const char *variant = getenv("LLMBENCH_LLAMA_CPU");

	if (env && !strcmp(env, "1"))
		log_mode = 1;
	else if (env && !strcmp(env, "0"))
		log_mode = -1;
	llama_log_set(log_cb, NULL);
	ggml_log_set(log_cb, NULL);
#ifdef LB_LLAMA_LIBDIR
	if (!dir || !*dir)
		dir = LB_LLAMA_LIBDIR;
#endif
	if (variant && *variant) {
		if (!load_forced_variant(dir, variant)) {
			init_status = LB_ERR_BACKEND;
			return;
		}
	} else if (dir && *dir) {
		variant = NULL;
		ggml_backend_load_all_from_path(dir);
	} else {
		variant = NULL;
		ggml_backend_load_all();
	}
	llama_backend_init();
	if (ggml_backend_dev_count() == 0) {
		init_status = LB_ERR_BACKEND;
		snprintf(init_msg, sizeof(init_msg),
			 "llama.cpp found no compute backend in '%s' (set LLMBENCH_LLAMA_LIBDIR to "
			 "the folder with libggml-cpu-*.so)",
			 dir ? dir : "the default search path");
		return;
	}
	describe_cpu(variant);
}

int llama_common_init(struct lb_error *err)
{
	pthread_once(&init_once, do_init);
	if (init_status)
		return lb_error_set(err, init_status, "%s", init_msg);
	return 0;
}

const char *llama_common_cpu(void)
{
	return cpu_desc;
}

const char *llama_common_last_error(void)
{
	return last_error;
}

void llama_common_clear_last_error(void)
{
	last_error_len = 0;
	last_error[0] = '\0';
}

int llama_common_gguf_check(const char *path, struct lb_error *err)
{
	struct gguf_init_params gp = { .no_alloc = true, .ctx = NULL };
	struct gguf_context *g;
	struct stat st;
	uint64_t need = 0;
	char magic[4];
	int64_t i;
	FILE *f;
	size_t n;

	if (stat(path, &st) < 0)
		return lb_error_set(err, LB_ERR_USAGE, "cannot open model '%s': %s", path,
				    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return lb_error_set(err, LB_ERR_USAGE, "model '%s' is not a regular file", path);
	f = fopen(path, "rb");
	if (!f)
		return lb_error_set(err, LB_ERR_USAGE, "cannot open model '%s': %s", path,
				    strerror(errno));
	n = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	if (n != sizeof(magic) || memcmp(magic, "GGUF", 4))
		return lb_error_set(err, LB_ERR_USAGE,
				    "model '%s' is not a GGUF file (no 'GGUF' magic at its start)",
				    path);
	llama_common_clear_last_error();
	pthread_once(&init_once, do_init);
	quiet = true;
	g = gguf_init_from_file(path, gp);
	quiet = false;
	if (!g)
		return lb_error_set(err, LB_ERR_USAGE, "model '%s' is a corrupt GGUF file%s%s",
				    path, last_error[0] ? ": " : " (its header does not parse)",
				    last_error);
	for (i = 0; i < gguf_get_n_tensors(g); i++) {
		uint64_t end = gguf_get_tensor_offset(g, i) + gguf_get_tensor_size(g, i);

		if (end > need)
			need = end;
	}
	if (gguf_get_n_tensors(g) > 0)
		need += gguf_get_data_offset(g);
	gguf_free(g);
	if (need > (uint64_t)st.st_size)
		return lb_error_set(
			err, LB_ERR_USAGE,
			"model '%s' is truncated: its tensors need %llu bytes, the file "
			"has %llu",
			path, (unsigned long long)need, (unsigned long long)st.st_size);
	return 0;
}

static int model_load(const char *path, int n_gpu_layers, bool vocab_only, struct llama_model **out,
		      struct lb_error *err)
{
	struct llama_model_params mp;
	struct llama_model *m;
	int rc;

	rc = llama_common_gguf_check(path, err);
	if (rc)
		return rc;
	rc = llama_common_init(err);
	if (rc)
		return rc;
	mp = llama_model_default_params();
	if (n_gpu_layers >= 0)
		mp.n_gpu_layers = n_gpu_layers;
	mp.vocab_only = vocab_only;
	llama_common_clear_last_error();
	m = llama_model_load_from_file(path, mp);
	if (!m)
		return lb_error_set(err, LB_ERR_USAGE, "cannot load model '%s'%s%s", path,
				    last_error[0] ? ": " : " (llama.cpp refused it)", last_error);
	*out = m;
	return 0;
}

int llama_common_model_load(const char *path, int n_gpu_layers, struct llama_model **out,
			    struct lb_error *err)
{
	return model_load(path, n_gpu_layers, false, out, err);
}

int llama_common_vocab_load(const char *path, struct llama_model **out, struct lb_error *err)
{
	return model_load(path, 0, true, out, err);
}

void llama_common_model_free(struct llama_model *model)
{
	if (model)
		llama_model_free(model);
}

int llama_common_tokenize(const struct llama_vocab *vocab, const char *text, size_t len,
			  bool add_special, bool parse_special, int32_t **out, size_t *n_out,
			  struct lb_error *err)
{
	int32_t *toks, *grown;
	int32_t cap, n;

	if (len > INT32_MAX / 2)
		return lb_error_set(err, LB_ERR_LIMIT, "text of %zu bytes is too long to tokenize",
				    len);
	cap = (int32_t)len + 8;
	toks = lb_malloc((size_t)cap * sizeof(*toks));
	if (!toks)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory tokenizing %zu bytes", len);
	n = llama_tokenize(vocab, text, (int32_t)len, toks, cap, add_special, parse_special);
	if (n < 0 && n != INT32_MIN) {
		cap = -n;
		grown = lb_realloc(toks, (size_t)cap * sizeof(*toks));
		if (!grown) {
			lb_free(toks);
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory tokenizing %zu bytes",
					    len);
		}
		toks = grown;
		n = llama_tokenize(vocab, text, (int32_t)len, toks, cap, add_special,
				   parse_special);
	}
	if (n < 0) {
		lb_free(toks);
		return lb_error_set(err, LB_ERR_BACKEND, "llama.cpp could not tokenize %zu bytes",
				    len);
	}
	*out = toks;
	*n_out = (size_t)n;
	return 0;
}

int llama_common_piece(const struct llama_vocab *vocab, int32_t token, bool special,
		       struct strbuf *sb, struct lb_error *err)
{
	char buf[256];
	int32_t n;

	n = llama_token_to_piece(vocab, token, buf, sizeof(buf), 0, special);
	if (n < 0) {
		size_t need = (size_t)-n;

		if (strbuf_grow(sb, need))
			return lb_error_set(err, LB_ERR_NOMEM, "out of memory for token %d",
					    (int)token);
		n = llama_token_to_piece(vocab, token, sb->buf + sb->len, (int32_t)need, 0,
					 special);
		if (n < 0)
			return lb_error_set(err, LB_ERR_BACKEND,
					    "llama.cpp could not render token %d", (int)token);
		sb->len += (size_t)n;
		sb->buf[sb->len] = '\0';
		return 0;
	}
	if (strbuf_add(sb, buf, (size_t)n))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory for token %d", (int)token);
	return 0;
}

int llama_common_detokenize(const struct llama_vocab *vocab, const int32_t *tokens, size_t n,
			    bool remove_special, bool unparse_special, struct strbuf *sb,
			    struct lb_error *err)
{
	int32_t got, room;

	if (n > INT32_MAX / 64)
		return lb_error_set(err, LB_ERR_LIMIT, "too many tokens (%zu) to detokenize", n);
	room = (int32_t)(n * 8 + 16);
	if (strbuf_grow(sb, (size_t)room))
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory detokenizing %zu tokens", n);
	got = llama_detokenize(vocab, tokens, (int32_t)n, sb->buf + sb->len, room, remove_special,
			       unparse_special);
	if (got < 0) {
		room = -got;
		if (strbuf_grow(sb, (size_t)room + 1))
			return lb_error_set(err, LB_ERR_NOMEM,
					    "out of memory detokenizing %zu tokens", n);
		got = llama_detokenize(vocab, tokens, (int32_t)n, sb->buf + sb->len, room,
				       remove_special, unparse_special);
		if (got < 0)
			return lb_error_set(err, LB_ERR_BACKEND,
					    "llama.cpp could not detokenize %zu tokens", n);
	}
	sb->len += (size_t)got;
	sb->buf[sb->len] = '\0';
	return 0;
}

const struct llama_vocab *llama_common_model_vocab(const struct llama_model *m, int32_t *n_tokens,
						   bool *add_bos)
{
	const struct llama_vocab *v = llama_model_get_vocab(m);

	*n_tokens = llama_vocab_n_tokens(v);
	*add_bos = llama_vocab_get_add_bos(v);
	return v;
}

#else /* !LB_HAVE_LLAMA */

int llama_common_init(struct lb_error *err)
{
	return llama_common_unsupported(err);
}

const char *llama_common_cpu(void)
{
	return "";
}

const char *llama_common_last_error(void)
{
	return "";
}

void llama_common_clear_last_error(void)
{
}

int llama_common_gguf_check(const char *path, struct lb_error *err)
{
	(void)path;
	return llama_common_unsupported(err);
}

int llama_common_model_load(const char *path, int n_gpu_layers, struct llama_model **out,
			    struct lb_error *err)
{
	(void)path;
	(void)n_gpu_layers;
	(void)out;
	return llama_common_unsupported(err);
}

int llama_common_vocab_load(const char *path, struct llama_model **out, struct lb_error *err)
{
	(void)path;
	(void)out;
	return llama_common_unsupported(err);
}

void llama_common_model_free(struct llama_model *model)
{
	(void)model;
}

int llama_common_tokenize(const struct llama_vocab *vocab, const char *text, size_t len,
			  bool add_special, bool parse_special, int32_t **out, size_t *n_out,
			  struct lb_error *err)
{
	(void)vocab;
	(void)text;
	(void)len;
	(void)add_special;
	(void)parse_special;
	(void)out;
	(void)n_out;
	return llama_common_unsupported(err);
}

int llama_common_piece(const struct llama_vocab *vocab, int32_t token, bool special,
		       struct strbuf *sb, struct lb_error *err)
{
	(void)vocab;
	(void)token;
	(void)special;
	(void)sb;
	return llama_common_unsupported(err);
}

int llama_common_detokenize(const struct llama_vocab *vocab, const int32_t *tokens, size_t n,
			    bool remove_special, bool unparse_special, struct strbuf *sb,
			    struct lb_error *err)
{
	(void)vocab;
	(void)tokens;
	(void)n;
	(void)remove_special;
	(void)unparse_special;
	(void)sb;
	return llama_common_unsupported(err);
}

const struct llama_vocab *llama_common_model_vocab(const struct llama_model *m, int32_t *n_tokens,
						   bool *add_bos)
{
	(void)m;
	*n_tokens = 0;
	*add_bos = false;
	return NULL;
}

#endif
