/* sched.c: arrival processes (see sched.h). */
#include "sched.h"

#include <math.h>
#include <string.h>

double sched_uniform(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static double normal(uint64_t *st)
{
	double u1 = sched_uniform(st), u2 = sched_uniform(st);

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Marsaglia and Tsang's method; shape < 1 boosted with U^(1/k). */
static double gamma_sample(uint64_t *st, double k)
{
	double d, c, x, v, u, boost = 1;

	if (k < 1) {
		double uu = sched_uniform(st);

		boost = pow(uu < 1e-300 ? 1e-300 : uu, 1.0 / k);
		k += 1;
	}
	d = k - 1.0 / 3;
	c = 1 / sqrt(9 * d);
	for (;;) {
		do {
			x = normal(st);
			v = 1 + c * x;
		} while (v <= 0);
		v = v * v * v;
		u = sched_uniform(st);
		if (u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)))
			return d * v * boost;
	}
}

void sched_init(struct sched *s, const char *arrival, double rate, double burstiness, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->rate = rate > 0 ? rate : 1;
	s->rng = seed ? seed : 0x853c49e6748fea9bull;
	if (arrival && !strcmp(arrival, "constant"))
		s->kind = SCHED_CONSTANT;
	else if (arrival && !strcmp(arrival, "gamma") && burstiness > 0)
		s->kind = SCHED_GAMMA;
	else
		s->kind = SCHED_POISSON;
	s->shape = burstiness > 0 ? 1 / (burstiness * burstiness) : 1;
}

double sched_next_gap_s(struct sched *s)
{
	double u;

	switch (s->kind) {
	case SCHED_CONSTANT: return 1 / s->rate;
	case SCHED_GAMMA: return gamma_sample(&s->rng, s->shape) / (s->shape * s->rate);
	case SCHED_POISSON: break;
	}
	u = sched_uniform(&s->rng);
	return -log(1 - u) / s->rate;
}
