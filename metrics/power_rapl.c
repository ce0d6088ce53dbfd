/* power_rapl.c: CPU energy from RAPL zones under /sys/class/powercap (intel-rapl:N packages,
 * intel-rapl:N:M subzones). Zones nest (core and uncore are inside package; psys covers the
 * platform), so only a non-nested set is ever added; the config parser refuses the others.
 * energy_uj wraps at max_energy_range_uj; each read corrects it into a 64-bit running total.
 * Since 2020 energy_uj is root-only on most kernels: EACCES says how to fix it. */
#include "../base/alloc.h"
#include "../base/clock.h"
#include "power_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAPL_PATH_MAX 512

int (*power_rapl_open_hook)(const char *path, int flags);

enum rapl_kind {
	RAPL_PACKAGE,
	RAPL_DRAM,
	RAPL_CORE,
	RAPL_UNCORE,
	RAPL_PSYS
};

struct rapl_zone {
	char path[RAPL_PATH_MAX]; /* .../energy_uj */
	char scope[32];
	unsigned pkg, sub; /* intel-rapl:pkg[:sub]; sub = UINT32_MAX for a top zone */
	uint64_t range_uj; /* max_energy_range_uj, 0 if unknown */
	uint64_t last_raw, total;
};

struct rapl_src {
	size_t n;
	struct rapl_zone z[POWER_MAX_CHANNELS];
};

static const char *rapl_root(const struct power_config *cfg)
{
	const char *env = getenv("LLMBENCH_POWERCAP_ROOT");

	if (cfg->rapl.root)
		return cfg->rapl.root;
	return env && *env ? env : "/sys/class/powercap";
}

static int open_file(const char *path, int flags)
{
	if (power_rapl_open_hook)
		return power_rapl_open_hook(path, flags);
	return open(path, flags);
}

/* Read a small file's first line into buf; -errno on failure. */
static int read_line(const char *path, char *buf, size_t size)
{
	int fd = open_file(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;
	int e;

	if (fd < 0)
		return -errno;
	got = read(fd, buf, size - 1);
	e = errno;
	close(fd);
	if (got < 0)
		return -e;
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_u64(const char *path, uint64_t *v)
{
	char buf[64], *end;
	int rc = read_line(path, buf, sizeof(buf));

	if (rc)
		return rc;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (end == buf || *end || errno)
		return -EINVAL;
	return 0;
}

static int read_err(const char *path, int neg_errno, struct lb_error *err)
{
	if (neg_errno == -EACCES || neg_errno == -EPERM)
		return lb_error_set(err, LB_ERR_UNSUPPORTED,
				    "cannot read '%s': %s (run as root or grant read permission on "
				    "'%s')",
				    path, strerror(-neg_errno), path);
	if (neg_errno == -EINVAL)
		return lb_error_set(err, LB_ERR_PARSE, "cannot parse '%s'", path);
	return lb_error_set(err, LB_ERR_IO, "cannot read '%s': %s", path, strerror(-neg_errno));
}

static int rapl_probe(const struct power_config *cfg, struct lb_error *err)
{
	const char *root = rapl_root(cfg);
	struct stat st;

	if (stat(root, &st) || !S_ISDIR(st.st_mode))
		return lb_error_set(err, LB_ERR_UNSUPPORTED, "%s absent", root);
	return 0;
}

/* "intel-rapl:3" or "intel-rapl:3:1" exactly; intel-rapl-mmio:* (the same counters) never. */
static bool parse_zone_name(const char *name, unsigned *pkg, unsigned *sub)
{
	int used = 0;

	*sub = UINT32_MAX;
	if (sscanf(name, "intel-rapl:%u%n", pkg, &used) == 1 && !name[used])
		return true;
	used = 0;
	return sscanf(name, "intel-rapl:%u:%u%n", pkg, sub, &used) == 2 && !name[used];
}

static bool wanted(const struct power_config *cfg, enum rapl_kind k)
{
	switch (k) {
	case RAPL_PACKAGE: return cfg->rapl.package;
	case RAPL_DRAM: return cfg->rapl.dram;
	case RAPL_CORE: return cfg->rapl.core;
	case RAPL_UNCORE: return cfg->rapl.uncore;
	case RAPL_PSYS: return cfg->rapl.psys;
	}
	return false;
}

/* Kind of a zone from its name file; -1: not one we know. */
static int zone_kind(const char *zname, unsigned sub)
{
	if (sub == UINT32_MAX) {
		if (!strncmp(zname, "package", 7))
			return RAPL_PACKAGE;
		if (!strcmp(zname, "psys"))
			return RAPL_PSYS;
		return -1;
	}
	if (!strcmp(zname, "dram"))
		return RAPL_DRAM;
	if (!strcmp(zname, "core"))
		return RAPL_CORE;
	if (!strcmp(zname, "uncore"))
		return RAPL_UNCORE;
	return -1;
}

static int cmp_zone(const void *a, const void *b)
{
	const struct rapl_zone *x = a, *y = b;

	if (x->pkg != y->pkg)
		return x->pkg < y->pkg ? -1 : 1;
	if (x->sub != y->sub) /* the package itself (sub UINT32_MAX) first */
		return x->sub + 1u < y->sub + 1u ? -1 : 1;
	return 0;
}

static void rapl_close(void *self)
{
	lb_free(self);
}

static int rapl_open(void **self, const struct power_config *cfg, struct power_chan *ch, size_t max,
		     size_t *n_ch, struct lb_error *err)
{
	const char *root = rapl_root(cfg);
	struct rapl_src *r;
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	*self = NULL;
	*n_ch = 0;
	dir = opendir(root);
	if (!dir)
		return lb_error_set(err, LB_ERR_UNSUPPORTED, "cannot open '%s': %s", root,
				    strerror(errno));
	r = lb_calloc(1, sizeof(*r));
	if (!r) {
		closedir(dir);
		return lb_error_set(err, LB_ERR_NOMEM, "out of memory");
	}
	while ((de = readdir(dir))) {
		struct rapl_zone *z;
		char path[RAPL_PATH_MAX], zname[64];
		unsigned pkg, sub;
		int kind;

		if (!parse_zone_name(de->d_name, &pkg, &sub))
			continue;
		power_fmt(path, sizeof(path), "%s/%s/name", root, de->d_name);
		if (read_line(path, zname, sizeof(zname)))
			continue;
		kind = zone_kind(zname, sub);
		if (kind < 0 || !wanted(cfg, (enum rapl_kind)kind))
			continue;
		if (r->n == POWER_MAX_CHANNELS || r->n == max) {
			rc = lb_error_set(err, LB_ERR_LIMIT, "too many power channels");
			goto fail;
		}
		z = &r->z[r->n];
		z->pkg = pkg;
		z->sub = sub;
		if (sub == UINT32_MAX)
			power_fmt(z->scope, sizeof(z->scope), "%s", zname);
		else
			power_fmt(z->scope, sizeof(z->scope), "%s-%u", zname, pkg);
		power_fmt(z->path, sizeof(z->path), "%s/%s/energy_uj", root, de->d_name);
		power_fmt(path, sizeof(path), "%s/%s/max_energy_range_uj", root, de->d_name);
		if (read_u64(path, &z->range_uj))
			z->range_uj = 0;
		r->n++;
	}
	qsort(r->z, r->n, sizeof(r->z[0]), cmp_zone);
	/* Duplicate scopes (the same package listed twice) are added once. */
	for (size_t i = 0, j; i < r->n; i++) {
		for (j = 0; j < *n_ch; j++)
			if (!strcmp(ch[j].scope, r->z[i].scope))
				break;
		if (j < *n_ch) {
			memmove(&r->z[i], &r->z[i + 1], (r->n - i - 1) * sizeof(r->z[0]));
			r->n--;
			i--;
			continue;
		}
		rc = read_u64(r->z[i].path, &r->z[i].last_raw);
		if (rc) {
			rc = read_err(r->z[i].path, rc, err);
			goto fail;
		}
		memset(&ch[*n_ch], 0, sizeof(ch[0]));
		power_fmt(ch[*n_ch].scope, sizeof(ch[0].scope), "%s", r->z[i].scope);
		ch[*n_ch].caps = POWER_CAP_ENERGY;
		(*n_ch)++;
	}
	if (!r->n) {
		rc = lb_error_set(err, LB_ERR_UNSUPPORTED, "no %s zone under '%s'",
				  cfg->rapl.psys      ? "psys"
				  : cfg->rapl.package ? "package"
						      : "selected",
				  root);
		goto fail;
	}
	closedir(dir);
	*self = r;
	return 0;
fail:
	*n_ch = 0;
	closedir(dir);
	lb_free(r);
	return rc;
}

static int rapl_read(void *self, struct power_reading *out, size_t n_ch, struct lb_error *err)
{
	struct rapl_src *r = self;

	(void)err;
	for (size_t i = 0; i < n_ch && i < r->n; i++) {
		struct rapl_zone *z = &r->z[i];
		struct power_reading *o = &out[i];
		uint64_t t0 = lb_now_ns(), raw;
		int rc = read_u64(z->path, &raw);
		struct lb_error e = LB_ERROR_INIT;

		o->t_ns = t0 + (lb_now_ns() - t0) / 2;
		if (rc) {
			read_err(z->path, rc, &e);
			power_fmt(o->err, sizeof(o->err), "%s", e.msg);
			continue;
		}
		if (raw >= z->last_raw) {
			z->total += raw - z->last_raw;
		} else if (z->range_uj && z->last_raw <= z->range_uj) {
			z->total += z->range_uj - z->last_raw + raw; /* wrapped once */
		} else {
			power_fmt(o->err, sizeof(o->err),
				  "'%s' went backwards and max_energy_range_uj is unknown",
				  z->path);
			z->last_raw = raw;
			continue;
		}
		z->last_raw = raw;
		o->ok = true;
		o->has_energy = true;
		o->energy_uj = z->total;
	}
	return 0;
}

const struct power_source_ops power_rapl_ops = {
	.name = "rapl",
	.probe = rapl_probe,
	.open = rapl_open,
	.read = rapl_read,
	.close = rapl_close,
};
