/* power_hlsmi.c: Intel Gaudi power through `hl-smi -Q power.draw -f csv,noheader,nounits`,
 * polled; one line per device, in index order. Power only, so the sampler integrates it with
 * the trapezoid rule and labels the figure so. */
#include "../base/alloc.h"
#include "../base/clock.h"
#include "power_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HLSMI_OUT_MAX 8192
#define HLSMI_TIMEOUT_MS 5000
#define HLSMI_MAX_DEV 64

struct hlsmi_src {
	char *path; /* owned */
	size_t n;
	unsigned dev[POWER_MAX_CHANNELS]; /* device index of each channel */
};

static const char *hlsmi_path(const struct power_config *cfg)
{
	const char *env = getenv("LLMBENCH_HLSMI");

	if (cfg->hlsmi.path)
		return cfg->hlsmi.path;
	return env && *env ? env : "hl-smi";
}

/* Is the program there (a path, or a name found in PATH)? */
static bool program_found(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(prog, '/'))
		return !access(prog, X_OK);
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, len ? path : ".", prog) <
			    (int)sizeof(buf) &&
		    !access(buf, X_OK))
			return true;
		path += len;
		if (*path == ':')
			path++;
	}
	return false;
}

static int hlsmi_probe(const struct power_config *cfg, struct lb_error *err)
{
	const char *prog = hlsmi_path(cfg);

	if (!program_found(prog))
		return lb_error_set(err, LB_ERR_UNSUPPORTED, "%s not found", prog);
	return 0;
}

/* Run hl-smi; split its output into lines (in place in out); *n_lines at most max. */
static int hlsmi_run(const char *prog, char *out, size_t out_max, char **lines, size_t max,
		     size_t *n_lines, uint64_t *t_ns, struct lb_error *err)
{
	char *argv[] = { (char *)prog,
			 (char *)"-Q",
			 (char *)"power.draw",
			 (char *)"-f",
			 (char *)"csv,noheader,nounits",
			 NULL };
	uint64_t t0 = lb_now_ns();
	char *p, *save = NULL;
	int rc;

	rc = power_spawn_capture(argv, HLSMI_TIMEOUT_MS, out, out_max, err);
	*t_ns = t0 + (lb_now_ns() - t0) / 2;
	*n_lines = 0;
	if (rc)
		return rc;
	for (p = strtok_r(out, "\n", &save); p && *n_lines < max; p = strtok_r(NULL, "\n", &save)) {
		if (!p[strspn(p, " \t\r")])
			continue;
		lines[(*n_lines)++] = p;
	}
	return 0;
}

static void hlsmi_close(void *self)
{
	struct hlsmi_src *h = self;

	if (!h)
		return;
	lb_free(h->path);
	lb_free(h);
}

static int hlsmi_open(void **self, const struct power_config *cfg, struct power_chan *ch,
		      size_t max, size_t *n_ch, struct lb_error *err)
{
	char out[HLSMI_OUT_MAX], *lines[HLSMI_MAX_DEV];
	struct hlsmi_src *h;
	size_t n_lines;
	uint64_t t;
	int rc;

	*self = NULL;
	*n_ch = 0;
	h = lb_calloc(1, sizeof(*h));
	if (!h || !(h->path = lb_strdup(hlsmi_path(cfg)))) {
		hlsmi_close(h);
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	rc = hlsmi_run(h->path, out, sizeof(out), lines, HLSMI_MAX_DEV, &n_lines, &t, err);
	if (rc)
		goto fail;
	if (!n_lines) {
		rc = lb_error_set(err, LB_ERR_UNSUPPORTED, "'%s' lists no device", h->path);
		goto fail;
	}
	for (unsigned i = 0; i < HLSMI_MAX_DEV; i++) {
		if (!(cfg->hlsmi.devices & ((uint64_t)1 << i)))
			continue;
		if (i >= n_lines) {
			if (cfg->hlsmi.devices == UINT64_MAX)
				break;
			rc = lb_error_set(
				err, LB_ERR_USAGE,
				"power.hlsmi.devices: device %u not present (%zu devices)", i,
				n_lines);
			goto fail;
		}
		if (h->n == max) {
			rc = lb_error_set(err, LB_ERR_LIMIT, "too many power channels");
			goto fail;
		}
		power_fmt(ch[h->n].scope, sizeof(ch[h->n].scope), "accel%u", i);
		ch[h->n].caps = POWER_CAP_POWER;
		power_fmt(ch[h->n].note, sizeof(ch[h->n].note),
			  "hl-smi power.draw polled (no energy counter)");
		h->dev[h->n++] = i;
	}
	*self = h;
	*n_ch = h->n;
	return 0;
fail:
	hlsmi_close(h);
	return rc;
}

static int hlsmi_read(void *self, struct power_reading *out, size_t n_ch, struct lb_error *err)
{
	struct hlsmi_src *h = self;
	char buf[HLSMI_OUT_MAX], *lines[HLSMI_MAX_DEV];
	size_t n_lines;
	uint64_t t;
	int rc;

	rc = hlsmi_run(h->path, buf, sizeof(buf), lines, HLSMI_MAX_DEV, &n_lines, &t, err);
	if (rc)
		return rc;
	for (size_t k = 0; k < n_ch && k < h->n; k++) {
		struct power_reading *r = &out[k];
		double w;

		r->t_ns = t;
		if (h->dev[k] >= n_lines) {
			power_fmt(r->err, sizeof(r->err), "device %u missing from hl-smi output",
				  h->dev[k]);
			continue;
		}
		if (!power_parse_number(lines[h->dev[k]], &w) || w < 0) {
			power_fmt(r->err, sizeof(r->err),
				  "device %u: power.draw '%.40s' is not a number", h->dev[k],
				  lines[h->dev[k]]);
			continue;
		}
		r->ok = true;
		r->has_power = true;
		r->power_mw = (uint64_t)(w * 1000.0 + 0.5);
	}
	return 0;
}

const struct power_source_ops power_hlsmi_ops = {
	.name = "hlsmi",
	.probe = hlsmi_probe,
	.open = hlsmi_open,
	.read = hlsmi_read,
	.close = hlsmi_close,
};
