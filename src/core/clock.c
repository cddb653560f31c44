/* The fraud clock; see clock.h. */
#include "core/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/limits.h"

/* Written by rf_clock_init before threads start, read-only after. */
static int64_t clock_offset;
static bool clock_offset_in_force;

int rf_clock_parse_offset(const char *s, int64_t *out)
{
	const char *p = s;
	bool negative = false;
	int64_t v = 0;

	if (*p == '-' || *p == '+')
		negative = *p++ == '-';
	if (*p == '\0')
		return EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return EINVAL;
		v = v * 10 + (*p - '0');
		if (v > (int64_t)RF_CLOCK_OFFSET_MAX)
			return EINVAL;
	}
	*out = negative ? -v : v;
	return 0;
}

int rf_clock_init(const char **why)
{
	static char msg[160];
	const char *s = getenv(RF_CLOCK_OFFSET_ENV);
	int64_t v;

	if (!s || !*s) {
		clock_offset = 0;
		clock_offset_in_force = false;
		return 0;
	}
	if (rf_clock_parse_offset(s, &v) != 0) {
		snprintf(msg, sizeof(msg),
			 "%s='%.40s' is not a whole number of seconds within +-%u",
			 RF_CLOCK_OFFSET_ENV, s, RF_CLOCK_OFFSET_MAX);
		*why = msg;
		return EINVAL;
	}
	clock_offset = v;
	clock_offset_in_force = true;
	return 0;
}

bool rf_clock_offset_set(void)
{
	return clock_offset_in_force;
}

int64_t rf_clock_offset(void)
{
	return clock_offset;
}

int64_t rf_clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + clock_offset;
}
