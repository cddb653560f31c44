/* Blacklists in memory: the rows of one direction, collected from the
 * store, and a prefix table indexing them. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "core/limits.h"
#include "fraud/blacklist.h"
#include "fraud/prefix.h"

struct blacklist {
	struct prefix_set set;  /* struct blacklist_record */
};

static int collect(const struct blacklist_record *r, void *arg)
{
	struct blacklist *b = arg;

	if (!prefix_valid(r->prefix)) {
		b->set.skipped++;
		return 0;
	}
	return prefix_list_push(&b->set.rows, r);
}

int blacklist_load(struct store *s, enum blacklist_dir dir, struct blacklist **out)
{
	struct blacklist *b = calloc(1, sizeof(*b));
	int err = ENOMEM;

	if (!b)
		goto out;
	b->set.rows.size = sizeof(struct blacklist_record);
	b->set.rows.max = RF_MAX_BLACKLIST;
	err = store_blacklist_foreach(s, dir, collect, b);
	if (!err)
		err = prefix_set_index(&b->set, offsetof(struct blacklist_record, prefix));
out:
	if (err) {
		blacklist_free(b);
		return err;
	}
	*out = b;
	return 0;
}

void blacklist_free(struct blacklist *b)
{
	if (!b)
		return;
	prefix_set_free(&b->set);
	free(b);
}

const struct blacklist_record *blacklist_match(const struct blacklist *b, const char *e164)
{
	return prefix_set_find(&b->set, e164);
}

size_t blacklist_count(const struct blacklist *b)
{
	return b->set.rows.n;
}

size_t blacklist_skipped(const struct blacklist *b)
{
	return b->set.skipped;
}
