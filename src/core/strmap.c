#include "core/strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"

static uint64_t strmap_seed;

static uint64_t strmap_hash(const char *key, size_t len)
{
	/* FNV-1a over a random per-process seed. */
	uint64_t h = 0xcbf29ce484222325ull ^ strmap_seed;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

int strmap_init(struct strmap *m, size_t hint)
{
	size_t n = 16;

	if (strmap_seed == 0 && secret_random(&strmap_seed, sizeof(strmap_seed)) != 0)
		return EIO;
	while (n < hint && n < ((size_t)1 << 30))
		n <<= 1;
	m->buckets = calloc(n, sizeof(*m->buckets));
	if (!m->buckets)
		return ENOMEM;
	m->nbuckets = n;
	m->count = 0;
	return 0;
}

void strmap_destroy(struct strmap *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
	m->count = 0;
}

static int strmap_grow(struct strmap *m)
{
	size_t n = m->nbuckets * 2;
	struct strmap_node **b = calloc(n, sizeof(*b));

	if (!b)
		return ENOMEM;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_node *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

int strmap_insert(struct strmap *m, struct strmap_node *n, const char *key,
		  size_t keylen)
{
	size_t i;

	n->key = key;
	n->keylen = keylen;
	n->hash = strmap_hash(key, keylen);
	i = n->hash & (m->nbuckets - 1);
	n->next = m->buckets[i];
	m->buckets[i] = n;
	m->count++;
	if (m->count > m->nbuckets)
		return strmap_grow(m);
	return 0;
}

struct strmap_node *strmap_find(const struct strmap *m, const char *key,
				size_t keylen)
{
	uint64_t h = strmap_hash(key, keylen);
	struct strmap_node *e = m->buckets[h & (m->nbuckets - 1)];

	for (; e; e = e->next) {
		if (e->hash == h && e->keylen == keylen &&
		    memcmp(e->key, key, keylen) == 0)
			return e;
	}
	return NULL;
}

void strmap_remove(struct strmap *m, struct strmap_node *n)
{
	struct strmap_node **pp = &m->buckets[n->hash & (m->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			m->count--;
			return;
		}
	}
}

void strmap_foreach(struct strmap *m,
		    void (*fn)(struct strmap_node *n, void *arg), void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct strmap_node *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			fn(e, arg);
		}
	}
}
