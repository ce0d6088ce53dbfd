/* gguf_make.c: tiny random-weight GGUF models for llama.cpp, their quantization and info. */
#include "gguf_make.h"

#include "../base/alloc.h"
#include "llama_common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef LB_HAVE_LLAMA
#include <ggml.h>
#include <gguf.h>
#include <math.h>
#endif

struct quant_name {
	const char *name;
	int ftype; /* enum llama_ftype */
};

/* Values of enum llama_ftype (llama.h), spelled out so that this table exists without it. */
static const struct quant_name quant_names[] = {
	{ "f32", 0 },     { "f16", 1 },     { "bf16", 32 }, { "q8_0", 7 },    { "q6_k", 18 },
	{ "q5_k_m", 17 }, { "q5_k_s", 16 }, { "q5_0", 8 },  { "q5_1", 9 },    { "q4_k_m", 15 },
	{ "q4_k_s", 14 }, { "q4_0", 2 },    { "q4_1", 3 },  { "q3_k_m", 12 }, { "q3_k_s", 11 },
	{ "q3_k_l", 13 }, { "q2_k", 10 },
};

#define N_QUANT (sizeof(quant_names) / sizeof(quant_names[0]))

int lb_gguf_quant_type(const char *name)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < N_QUANT; i++)
		if (!strcasecmp(name, quant_names[i].name))
			return quant_names[i].ftype;
	return -1;
}

const char *lb_gguf_quant_types(void)
{
	return "f32, f16, bf16, q8_0, q6_k, q5_k_m, q5_k_s, q5_0, q5_1, q4_k_m, q4_k_s, q4_0, q4_1, "
	       "q3_k_m, q3_k_s, q3_k_l, q2_k";
}

void lb_gguf_make_defaults(struct lb_gguf_make_opts *o, const char *arch)
{
	memset(o, 0, sizeof(*o));
	o->arch = arch ? arch : "llama";
	o->n_embd = 256;
	o->n_layer = 2;
	o->n_head = 4;
	o->n_head_kv = arch && !strcmp(arch, "mistral") ? 2 : 4;
	o->n_ff = 512;
	o->n_ctx = 512;
	o->seed = 42;
}

const char *lb_gguf_vocab_dir(void)
{
	const char *env = getenv("LLMBENCH_VOCAB_DIR");

	if (env && *env)
		return env;
#ifdef LB_LLAMA_LIBDIR
	return LB_LLAMA_LIBDIR "/../models";
#else
	return NULL;
#endif
}

int lb_gguf_tmp_path(const char *path, char **tmp, struct lb_error *err)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
	const char *base = slash ? slash + 1 : path;
	size_t n = dlen + strlen(base) + 16;
	char *t;
	int fd;

	t = lb_malloc(n);
	if (!t)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	snprintf(t, n, "%.*s.%s.tmp.XXXXXX", (int)dlen, path, base);
	fd = mkstemp(t);
	if (fd < 0) {
		int e = errno;

		lb_free(t);
		return lb_error_set(err, LB_ERR_IO,
				    "cannot create a temporary file beside '%s': %s", path,
				    strerror(e));
	}
	/* mkstemp makes 0600; a model is an ordinary file (0644). */
	if (fchmod(fd, 0644) < 0) {
		int e = errno;

		close(fd);
		unlink(t);
		lb_free(t);
		return lb_error_set(err, LB_ERR_IO, "cannot set the mode of '%s': %s", path,
				    strerror(e));
	}
	close(fd);
	*tmp = t;
	return 0;
}

#ifdef LB_HAVE_LLAMA

/* splitmix64: weights depend only on the seed and the tensor's name, not on write order. */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t name_seed(uint64_t seed, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return h;
}

/* Standard normal by Box-Muller. */
static double rand_normal(uint64_t *s)
{
	double u1 = ((double)(splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
	double u2 = (double)(splitmix64(s) >> 11) / 9007199254740992.0;

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

enum fill {
	FILL_NORMAL,
	FILL_ONE,
	FILL_ZERO
};

struct maker {
	struct ggml_context *ctx;
	struct gguf_context *gguf;
	enum ggml_type wtype;
	uint64_t seed;
	float *row; /* scratch of the widest row */
};

/* Add a tensor of ne0 x ne1 (ne1 = 0: 1-D, always F32) filled as asked (std for normals). */
static void add_tensor(struct maker *m, const char *name, int64_t ne0, int64_t ne1, enum fill f,
		       double std)
{
	struct ggml_tensor *t;
	uint64_t s = name_seed(m->seed, name);
	int64_t r, i, rows = ne1 ? ne1 : 1;

	if (ne1)
		t = ggml_new_tensor_2d(m->ctx, m->wtype, ne0, ne1);
	else
		t = ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, ne0);
	ggml_set_name(t, name);
	for (r = 0; r < rows; r++) {
		for (i = 0; i < ne0; i++)
			m->row[i] = f == FILL_ONE    ? 1.0f
				    : f == FILL_ZERO ? 0.0f
						     : (float)(std * rand_normal(&s));
		if (t->type == GGML_TYPE_F16)
			ggml_fp32_to_fp16_row(m->row, (ggml_fp16_t *)t->data + r * ne0, ne0);
		else
			memcpy((float *)t->data + r * ne0, m->row, (size_t)ne0 * sizeof(float));
	}
	gguf_add_tensor(m->gguf, t);
}

static int check_opts(const struct lb_gguf_make_opts *o, struct lb_error *err)
{
	if (!o->arch ||
	    (strcmp(o->arch, "llama") && strcmp(o->arch, "falcon") && strcmp(o->arch, "mistral")))
		return lb_error_set(err, LB_ERR_USAGE,
				    "unknown architecture '%s' (expected llama, falcon or mistral)",
				    o->arch ? o->arch : "");
	if (o->n_embd <= 0 || o->n_layer <= 0 || o->n_head <= 0 || o->n_head_kv <= 0 ||
	    o->n_ff <= 0 || o->n_ctx <= 0)
		return lb_error_set(err, LB_ERR_USAGE,
				    "--embd, --layers, --heads, --kv-heads, --ff and --ctx must be "
				    "positive");
	if (o->n_embd > 65536 || o->n_layer > 512 || o->n_ff > 262144 || o->n_ctx > 1048576)
		return lb_error_set(err, LB_ERR_USAGE,
				    "model too large for the maker (embd <= 65536, layers <= 512, "
				    "ff <= 262144, ctx <= 1048576)");
	if (o->n_embd % o->n_head)
		return lb_error_set(err, LB_ERR_USAGE, "--embd %d is not a multiple of --heads %d",
				    o->n_embd, o->n_head);
	if ((o->n_embd / o->n_head) % 2)
		return lb_error_set(err, LB_ERR_USAGE,
				    "head size %d (embd / heads) must be even for RoPE",
				    o->n_embd / o->n_head);
	if (o->n_head % o->n_head_kv)
		return lb_error_set(err, LB_ERR_USAGE,
				    "--heads %d is not a multiple of --kv-heads %d", o->n_head,
				    o->n_head_kv);
	return 0;
}

static void set_kv_u32(struct gguf_context *g, const char *arch, const char *key, uint32_t v)
{
	char k[128];

	snprintf(k, sizeof(k), "%s.%s", arch, key);
	gguf_set_val_u32(g, k, v);
}

static void set_kv_f32(struct gguf_context *g, const char *arch, const char *key, float v)
{
	char k[128];

	snprintf(k, sizeof(k), "%s.%s", arch, key);
	gguf_set_val_f32(g, k, v);
}

/* Copy only the tokenizer.* keys of the vocabulary file into g. */
static int copy_vocab(struct gguf_context *g, const char *vocab_path, int64_t *n_vocab,
		      struct lb_error *err)
{
	struct gguf_init_params gp = { .no_alloc = true, .ctx = NULL };
	struct gguf_context *v;
	int64_t i, id;
	int rc = 0;

	rc = llama_common_gguf_check(vocab_path, err);
	if (rc)
		return lb_error_prefix(err, "vocabulary");
	v = gguf_init_from_file(vocab_path, gp);
	if (!v)
		return lb_error_set(err, LB_ERR_USAGE, "cannot read vocabulary '%s'", vocab_path);
	id = gguf_find_key(v, "tokenizer.ggml.tokens");
	if (id < 0 || gguf_get_kv_type(v, id) != GGUF_TYPE_ARRAY) {
		rc = lb_error_set(err, LB_ERR_USAGE,
				  "vocabulary '%s' has no tokenizer.ggml.tokens array", vocab_path);
		goto out;
	}
	*n_vocab = (int64_t)gguf_get_arr_n(v, id);
	gguf_set_kv(g, v);
	for (i = gguf_get_n_kv(g) - 1; i >= 0; i--) {
		const char *key = gguf_get_key(g, i);

		if (strncmp(key, "tokenizer.", 10))
			gguf_remove_key(g, key);
	}
out:
	gguf_free(v);
	return rc;
}

int lb_gguf_make(const struct lb_gguf_make_opts *o, const char *out_path, struct lb_error *err)
{
	struct maker m = { 0 };
	const bool falcon = o->arch && !strcmp(o->arch, "falcon");
	const char *arch = falcon ? "falcon" : "llama";
	char vocab_buf[4096], name_buf[128], tn[96];
	const char *vocab = o->vocab;
	int64_t n_vocab = 0, e, gqa, widest;
	struct ggml_init_params ip;
	size_t mem, wsize;
	char *tmp = NULL;
	int rc, l, n_tensors;

	rc = check_opts(o, err);
	if (rc)
		return rc;
	if (!vocab) {
		const char *dir = lb_gguf_vocab_dir();

		if (!dir)
			return lb_error_set(err, LB_ERR_USAGE,
					    "no vocabulary folder known: pass --vocab FILE or set "
					    "LLMBENCH_VOCAB_DIR");
		snprintf(vocab_buf, sizeof(vocab_buf), "%s/ggml-vocab-%s.gguf", dir,
			 falcon ? "falcon" : "llama-spm");
		vocab = vocab_buf;
	}
	m.gguf = gguf_init_empty();
	if (!m.gguf)
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	rc = copy_vocab(m.gguf, vocab, &n_vocab, err);
	if (rc)
		goto out;

	e = o->n_embd;
	gqa = (int64_t)(o->n_embd / o->n_head) * o->n_head_kv;
	m.wtype = o->f32 ? GGML_TYPE_F32 : GGML_TYPE_F16;
	m.seed = o->seed;
	wsize = o->f32 ? 4 : 2;
	n_tensors = 4 + 9 * o->n_layer;
	mem = (size_t)(2 * n_vocab * e) * wsize + 8 * (size_t)e * 4;
	mem += (size_t)o->n_layer * (size_t)(2 * e * e + 2 * e * gqa + 3 * e * o->n_ff) * wsize;
	mem += (size_t)o->n_layer * 4 * (size_t)e * 4;
	mem += (size_t)n_tensors * (ggml_tensor_overhead() + 64) + 1024 * 1024;
	ip = (struct ggml_init_params){ .mem_size = mem, .mem_buffer = NULL, .no_alloc = false };
	m.ctx = ggml_init(ip);
	widest = e > o->n_ff ? e : o->n_ff;
	m.row = lb_malloc((size_t)widest * sizeof(float));
	if (!m.ctx || !m.row) {
		rc = lb_error_set(err, LB_ERR_NOMEM, "out of memory for a model of %zu bytes", mem);
		goto out;
	}

	gguf_set_val_str(m.gguf, "general.architecture", arch);
	if (!o->name)
		snprintf(name_buf, sizeof(name_buf), "llmbench tiny %s (random weights)", o->arch);
	gguf_set_val_str(m.gguf, "general.name", o->name ? o->name : name_buf);
	/* the caveat travels with the file, whatever its name (lb_gguf_is_synthetic) */
	gguf_set_val_bool(m.gguf, LB_GGUF_SYNTHETIC_KEY, true);
	gguf_set_val_u64(m.gguf, LB_GGUF_SEED_KEY, o->seed);
	gguf_set_val_u32(m.gguf, "general.file_type", o->f32 ? 0 : 1);
	gguf_set_val_u32(m.gguf, "general.quantization_version", 2);
	set_kv_u32(m.gguf, arch, "context_length", (uint32_t)o->n_ctx);
	set_kv_u32(m.gguf, arch, "embedding_length", (uint32_t)e);
	set_kv_u32(m.gguf, arch, "block_count", (uint32_t)o->n_layer);
	set_kv_u32(m.gguf, arch, "feed_forward_length", (uint32_t)o->n_ff);
	set_kv_u32(m.gguf, arch, "attention.head_count", (uint32_t)o->n_head);
	set_kv_u32(m.gguf, arch, "attention.head_count_kv", (uint32_t)o->n_head_kv);
	if (falcon) {
		set_kv_f32(m.gguf, arch, "attention.layer_norm_epsilon", 1e-5f);
	} else {
		set_kv_f32(m.gguf, arch, "attention.layer_norm_rms_epsilon", 1e-5f);
		set_kv_u32(m.gguf, arch, "rope.dimension_count", (uint32_t)(e / o->n_head));
		set_kv_f32(m.gguf, arch, "rope.freq_base", 10000.0f);
		set_kv_u32(m.gguf, arch, "vocab_size", (uint32_t)n_vocab);
		/* Mistral 7B's window. llama.cpp v0.5.0's `llama` architecture does not read this
		 * key (it attends over the whole context, as it does for Mistral v0.1 GGUFs); it
		 * is metadata for people and for `llmbench model info`. */
		if (!strcmp(o->arch, "mistral"))
			set_kv_u32(m.gguf, arch, "attention.sliding_window",
				   (uint32_t)(o->n_ctx < 4096 ? o->n_ctx : 4096));
	}

	/* Scales keep activations near unit RMS and logits about one unit wide. */
	add_tensor(&m, "token_embd.weight", e, n_vocab, FILL_NORMAL, 1.0);
	add_tensor(&m, "output_norm.weight", e, 0, FILL_ONE, 0);
	if (falcon)
		add_tensor(&m, "output_norm.bias", e, 0, FILL_ZERO, 0);
	add_tensor(&m, "output.weight", e, n_vocab, FILL_NORMAL, 1.0 / sqrt((double)e));
	for (l = 0; l < o->n_layer; l++) {
		double se = 1.0 / sqrt((double)e), sf = 1.0 / sqrt((double)o->n_ff);

#define TN(s) (snprintf(tn, sizeof(tn), "blk.%d." s, l), tn)
		add_tensor(&m, TN("attn_norm.weight"), e, 0, FILL_ONE, 0);
		if (falcon) {
			add_tensor(&m, TN("attn_norm.bias"), e, 0, FILL_ZERO, 0);
			add_tensor(&m, TN("attn_qkv.weight"), e, e + 2 * gqa, FILL_NORMAL, se);
			add_tensor(&m, TN("attn_output.weight"), e, e, FILL_NORMAL, se);
			add_tensor(&m, TN("ffn_up.weight"), e, o->n_ff, FILL_NORMAL, se);
			add_tensor(&m, TN("ffn_down.weight"), o->n_ff, e, FILL_NORMAL, sf);
		} else {
			add_tensor(&m, TN("attn_q.weight"), e, e, FILL_NORMAL, se);
			add_tensor(&m, TN("attn_k.weight"), e, gqa, FILL_NORMAL, se);
			add_tensor(&m, TN("attn_v.weight"), e, gqa, FILL_NORMAL, se);
			add_tensor(&m, TN("attn_output.weight"), e, e, FILL_NORMAL, se);
			add_tensor(&m, TN("ffn_norm.weight"), e, 0, FILL_ONE, 0);
			add_tensor(&m, TN("ffn_gate.weight"), e, o->n_ff, FILL_NORMAL, se);
			add_tensor(&m, TN("ffn_up.weight"), e, o->n_ff, FILL_NORMAL, se);
			add_tensor(&m, TN("ffn_down.weight"), o->n_ff, e, FILL_NORMAL, sf);
		}
#undef TN
	}

	rc = lb_gguf_tmp_path(out_path, &tmp, err);
	if (rc)
		goto out;
	if (!gguf_write_to_file(m.gguf, tmp, false)) {
		rc = lb_error_set(err, LB_ERR_IO, "cannot write model '%s'", out_path);
		goto out;
	}
	if (rename(tmp, out_path) < 0) {
		rc = lb_error_set(err, LB_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, out_path,
				  strerror(errno));
		goto out;
	}
	lb_free(tmp);
	tmp = NULL;
out:
	if (tmp) {
		unlink(tmp);
		lb_free(tmp);
	}
	lb_free(m.row);
	if (m.ctx)
		ggml_free(m.ctx);
	gguf_free(m.gguf);
	return rc;
}

int lb_gguf_quantize(const char *in_path, const char *out_path, const char *type, int threads,
		     struct lb_error *err)
{
	struct llama_model_quantize_params qp;
	int ftype = lb_gguf_quant_type(type);
	char *tmp = NULL;
	uint32_t qrc;
	int rc;

	if (ftype < 0)
		return lb_error_set(err, LB_ERR_USAGE, "unknown quantization type '%s' (known: %s)",
				    type ? type : "", lb_gguf_quant_types());
	rc = llama_common_gguf_check(in_path, err);
	if (rc)
		return rc;
	rc = llama_common_init(err);
	if (rc)
		return rc;
	rc = lb_gguf_tmp_path(out_path, &tmp, err);
	if (rc)
		return rc;
	qp = llama_model_quantize_default_params();
	qp.nthread = threads > 0 ? threads : llama_common_default_threads();
	qp.ftype = (enum llama_ftype)ftype;
	llama_common_clear_last_error();
	qrc = llama_model_quantize(in_path, tmp, &qp);
	if (qrc) {
		rc = lb_error_set(err, LB_ERR_BACKEND, "cannot quantize '%s' to %s%s%s", in_path,
				  type, llama_common_last_error()[0] ? ": " : "",
				  llama_common_last_error());
		goto out;
	}
	if (rename(tmp, out_path) < 0) {
		rc = lb_error_set(err, LB_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, out_path,
				  strerror(errno));
		goto out;
	}
	lb_free(tmp);
	return 0;
out:
	unlink(tmp);
	lb_free(tmp);
	return rc;
}

int lb_gguf_synthetic(const char *path)
{
	struct gguf_init_params gp = { .no_alloc = true, .ctx = NULL };
	struct gguf_context *g;
	int64_t id;
	int r = 0;

	if (!path || llama_common_gguf_check(path, NULL))
		return -1;
	g = gguf_init_from_file(path, gp);
	if (!g)
		return -1;
	id = gguf_find_key(g, LB_GGUF_SYNTHETIC_KEY);
	if (id >= 0 && gguf_get_kv_type(g, id) == GGUF_TYPE_BOOL)
		r = gguf_get_val_bool(g, id) ? 1 : 0;
	gguf_free(g);
	return r;
}

static const char *vocab_type_name(enum llama_vocab_type t)
{
	switch (t) {
	case LLAMA_VOCAB_TYPE_NONE: return "none";
	case LLAMA_VOCAB_TYPE_SPM: return "spm";
	case LLAMA_VOCAB_TYPE_BPE: return "bpe";
	case LLAMA_VOCAB_TYPE_WPM: return "wpm";
	case LLAMA_VOCAB_TYPE_UGM: return "ugm";
	case LLAMA_VOCAB_TYPE_RWKV: return "rwkv";
	default: return "other";
	}
}

/* A metadata value as a non-negative int; -1 when it is not one. */
static int meta_int(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

int lb_gguf_info(const char *path, struct lb_gguf_info *out, struct lb_error *err)
{
	struct llama_model *model = NULL;
	const struct llama_vocab *vocab;
	char key[96], val[64];
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = llama_common_model_load(path, 0, &model, err);
	if (rc)
		return rc;
	vocab = llama_model_get_vocab(model);
	llama_model_meta_val_str(model, "general.architecture", out->arch, sizeof(out->arch));
	llama_model_meta_val_str(model, "general.name", out->name, sizeof(out->name));
	llama_model_meta_val_str(model, "tokenizer.ggml.model", out->tokenizer,
				 sizeof(out->tokenizer));
	llama_model_desc(model, out->desc, sizeof(out->desc));
	snprintf(out->ftype, sizeof(out->ftype), "%s", llama_ftype_name(llama_model_ftype(model)));
	snprintf(out->vocab_type, sizeof(out->vocab_type), "%s",
		 vocab_type_name(llama_vocab_type(vocab)));
	out->n_params = llama_model_n_params(model);
	out->tensor_bytes = llama_model_size(model);
	out->file_bytes = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	out->n_vocab = llama_vocab_n_tokens(vocab);
	out->n_ctx_train = llama_model_n_ctx_train(model);
	out->n_embd = llama_model_n_embd(model);
	out->n_layer = llama_model_n_layer(model);
	out->n_head = llama_model_n_head(model);
	out->n_head_kv = llama_model_n_head_kv(model);
	out->n_swa = llama_model_n_swa(model);
	out->add_bos = llama_vocab_get_add_bos(vocab);
	snprintf(key, sizeof(key), "%s.attention.sliding_window", out->arch);
	out->swa_meta = -1;
	if (llama_model_meta_val_str(model, key, val, sizeof(val)) >= 0)
		out->swa_meta = meta_int(val);
	llama_model_free(model);
	return 0;
}

#else /* !LB_HAVE_LLAMA */

int lb_gguf_make(const struct lb_gguf_make_opts *o, const char *out_path, struct lb_error *err)
{
	(void)o;
	(void)out_path;
	return llama_common_unsupported(err);
}

int lb_gguf_quantize(const char *in_path, const char *out_path, const char *type, int threads,
		     struct lb_error *err)
{
	(void)in_path;
	(void)out_path;
	(void)threads;
	if (lb_gguf_quant_type(type) < 0)
		return lb_error_set(err, LB_ERR_USAGE, "unknown quantization type '%s' (known: %s)",
				    type ? type : "", lb_gguf_quant_types());
	return llama_common_unsupported(err);
}

int lb_gguf_synthetic(const char *path)
{
	(void)path;
	return -1;
}

int lb_gguf_info(const char *path, struct lb_gguf_info *out, struct lb_error *err)
{
	(void)path;
	memset(out, 0, sizeof(*out));
	return llama_common_unsupported(err);
}

#endif
