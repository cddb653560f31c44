/* The extension directory as the signalling thread sees it: an immutable
 * in-memory snapshot of the store's extensions. A reload builds a complete
 * new snapshot aside and only then replaces the old one, so a failed reload
 * leaves the running directory untouched. */
#ifndef RF_SIP_DIRECTORY_H
#define RF_SIP_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/strmap.h"
#include "store/store.h"

struct dir_ext {
	struct strmap_node node;
	struct ext_record rec;
};

struct directory {
	struct strmap map;
	struct dir_ext *items; /* owned; the map's nodes point into it */
	size_t n;
};

int directory_load(struct directory **dp, struct store *s);
void directory_free(struct directory *d);
const struct dir_ext *directory_find(const struct directory *d,
				     const char *ext, size_t len);

/* Mark an extension suspended in the running snapshot (the daemon wrote
 * it to the store too, and its own commits do not trigger a reload). */
void directory_set_suspended(struct directory *d, const char *ext, const char *why);

#endif
