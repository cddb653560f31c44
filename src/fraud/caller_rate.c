/* The per-caller rate limit. See caller_rate.h. */
#include "fraud/caller_rate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/strmap.h"

#define CALLER_RATE_WINDOW_S 60
#define CALLER_KEY_MAX 64

struct caller_window {
	struct strmap_node node;
	int64_t start;           /* unix second the window opened */
	unsigned calls;
	char key[CALLER_KEY_MAX + 1];
};

struct caller_rate {
	struct strmap map;
	int64_t now;             /* for the sweep callback */
};

int caller_rate_alloc(struct caller_rate **rp)
{
	struct caller_rate *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return ENOMEM;
	err = strmap_init(&r->map, 64);
	if (err)
		goto out;
	*rp = r;
	return 0;
out:
	free(r);
	return err;
}

static void drop_window(struct strmap_node *n, void *arg)
{
	struct caller_rate *r = arg;
	struct caller_window *w = strmap_entry(n, struct caller_window, node);

	if (w->start + CALLER_RATE_WINDOW_S <= r->now) {
		strmap_remove(&r->map, n);
		free(w);
	}
}

static void free_window(struct strmap_node *n, void *arg)
{
	struct strmap *m = arg;

	strmap_remove(m, n);
	free(strmap_entry(n, struct caller_window, node));
}

void caller_rate_free(struct caller_rate *r)
{
	if (!r)
		return;
	strmap_foreach(&r->map, free_window, &r->map);
	strmap_destroy(&r->map);
	free(r);
}

static struct caller_window *window_new(struct caller_rate *r, const char *caller,
					size_t len, int64_t now)
{
	struct caller_window *w;

	if (r->map.count >= RF_MAX_RATED_CALLERS) {
		r->now = now;
		strmap_foreach(&r->map, drop_window, r);
		if (r->map.count >= RF_MAX_RATED_CALLERS)
			return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	memcpy(w->key, caller, len);
	w->start = now;
	strmap_insert(&r->map, &w->node, w->key, len);
	return w;
}

bool caller_rate_admit(struct caller_rate *r, const char *caller, size_t len,
		       unsigned per_minute, int64_t now)
{
	struct strmap_node *n;
	struct caller_window *w;

	if (per_minute == 0)
		return true;
	if (len > CALLER_KEY_MAX)
		len = CALLER_KEY_MAX;
	n = strmap_find(&r->map, caller, len);
	w = n ? strmap_entry(n, struct caller_window, node) : window_new(r, caller, len, now);
	if (!w)
		return true;
	if (w->start + CALLER_RATE_WINDOW_S <= now) {
		w->start = now;
		w->calls = 0;
	}
	if (w->calls >= per_minute)
		return false;
	w->calls++;
	return true;
}

size_t caller_rate_count(const struct caller_rate *r)
{
	return r ? r->map.count : 0;
}
