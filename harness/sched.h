/* sched.h: arrival processes for open-loop load on an absolute schedule (seeded).
 * constant: gaps of 1/rate; poisson: exponential gaps (CV 1); gamma: gaps with mean 1/rate and
 * coefficient of variation `burstiness` (CV > 1 is burstier than Poisson, < 1 smoother). */
#ifndef LB_SCHED_H
#define LB_SCHED_H

#include <stdint.h>

enum sched_arrival {
	SCHED_CONSTANT,
	SCHED_POISSON,
	SCHED_GAMMA
};

struct sched {
	enum sched_arrival kind;
	double rate;  /* requests per second, > 0 */
	double shape; /* gamma shape k = 1/cv^2 */
	uint64_t rng;
};

/* arrival: "constant", "poisson", "gamma" (unknown names: poisson). */
void sched_init(struct sched *s, const char *arrival, double rate, double burstiness,
		uint64_t seed);
/* Next inter-arrival gap in seconds. This function can't fail. */
double sched_next_gap_s(struct sched *s);
/* Uniform double in [0,1) from a splitmix64 state. */
double sched_uniform(uint64_t *state);

#endif
