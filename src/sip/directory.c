#include "sip/directory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dir_loader {
	struct dir_ext *items;
	size_t n, cap;
};

static int dir_collect(const struct ext_record *r, void *arg)
{
	struct dir_loader *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct dir_ext *p = realloc(l->items, cap * sizeof(*p));

		if (!p)
			return ENOMEM;
		l->items = p;
		l->cap = cap;
	}
	memset(&l->items[l->n], 0, sizeof(l->items[l->n]));
	l->items[l->n].rec = *r;
	l->n++;
	return 0;
}

int directory_load(struct directory **dp, struct store *s)
{
	struct dir_loader l = {0};
	struct directory *d;
	int err;

	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	err = store_ext_foreach(s, dir_collect, &l);
	if (err)
		goto out;
	err = strmap_init(&d->map, l.n * 2);
	if (err)
		goto out;
	/* Insert only once the array has stopped moving. */
	for (size_t i = 0; i < l.n; i++) {
		struct dir_ext *e = &l.items[i];

		strmap_insert(&d->map, &e->node, e->rec.ext, strlen(e->rec.ext));
	}
	d->items = l.items;
	d->n = l.n;
	*dp = d;
	return 0;
out:
	free(l.items);
	free(d);
	return err;
}

void directory_free(struct directory *d)
{
	if (!d)
		return;
	strmap_destroy(&d->map);
	free(d->items);
	free(d);
}

const struct dir_ext *directory_find(const struct directory *d,
				     const char *ext, size_t len)
{
	struct strmap_node *n;

	if (!d || len == 0 || len > RF_MAX_EXT_LEN)
		return NULL;
	n = strmap_find(&d->map, ext, len);
	return n ? strmap_entry(n, struct dir_ext, node) : NULL;
}

void directory_set_suspended(struct directory *d, const char *ext, const char *why)
{
	struct dir_ext *e = (struct dir_ext *)directory_find(d, ext, strlen(ext));

	if (!e)
		return;
	e->rec.suspended = true;
	snprintf(e->rec.suspended_why, sizeof(e->rec.suspended_why), "%s", why);
}
