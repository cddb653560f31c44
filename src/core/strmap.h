/* A string-keyed hash map with intrusive nodes: the caller embeds a
 * struct strmap_node in its own object, so lookups and inserts never
 * allocate. Keys are compared whole (length and bytes); the hash is seeded
 * per process so attacker-chosen keys cannot be pre-computed to collide. */
#ifndef RF_CORE_STRMAP_H
#define RF_CORE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_node {
	struct strmap_node *next;
	uint64_t hash;
	const char *key; /* borrowed from the containing object */
	size_t keylen;
};

struct strmap {
	struct strmap_node **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};

int strmap_init(struct strmap *m, size_t hint);
/* Frees the bucket array only; the nodes belong to their owners. */
void strmap_destroy(struct strmap *m);
/* Insert n under key (which must outlive n's membership). Returns 0 or
 * ENOMEM (only when growing fails, in which case n is still inserted). */
int strmap_insert(struct strmap *m, struct strmap_node *n, const char *key,
		  size_t keylen);
struct strmap_node *strmap_find(const struct strmap *m, const char *key,
				size_t keylen);
void strmap_remove(struct strmap *m, struct strmap_node *n);

/* Visit every node; the callback may remove the node it is given. */
void strmap_foreach(struct strmap *m,
		    void (*fn)(struct strmap_node *n, void *arg), void *arg);

#define strmap_entry(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#endif
