/* Replay protection for digest credentials; see nonce_use.h. */
#include "sip/nonce_use.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/strmap.h"
#include "sip/digest.h"

#define NONCE_USE_SLOTS 8 /* nonces remembered per extension */

/* A nonce is known by its issue time and sequence number, which no other
 * nonce of this process shares, plus a piece of its MAC for nonces of an
 * earlier run of the daemon. 24 bytes, not the nonce's 40: the table costs
 * memory for every registered extension. */
struct slot {
	uint64_t issued;  /* time and sequence number: the nonce's order; 0 = free */
	uint64_t branch;  /* hash of the Via branch that last used this nc */
	uint32_t mac;     /* the first 8 hex digits of the nonce's MAC */
	uint32_t nc;
};

struct ext_uses {
	struct strmap_node node;
	char ext[RF_MAX_EXT_LEN + 1];
	uint64_t floor; /* nonces issued at or before this were forgotten */
	struct slot slot[NONCE_USE_SLOTS];
};

struct nonce_uses {
	struct strmap map;
};

int nonce_uses_alloc(struct nonce_uses **np)
{
	struct nonce_uses *u = calloc(1, sizeof(*u));

	if (!u)
		return ENOMEM;
	if (strmap_init(&u->map, 64) != 0) {
		free(u);
		return ENOMEM;
	}
	*np = u;
	return 0;
}

static void free_entry(struct strmap_node *n, void *arg)
{
	struct nonce_uses *u = arg;

	strmap_remove(&u->map, n);
	free(strmap_entry(n, struct ext_uses, node));
}

void nonce_uses_free(struct nonce_uses *u)
{
	if (!u)
		return;
	strmap_foreach(&u->map, free_entry, u);
	strmap_destroy(&u->map);
	free(u);
}

/* Fixed-width hex, as digest.h writes it; false for anything else. */
static bool parse_hex32(struct sip_str s, size_t digits, uint32_t *out)
{
	uint32_t v = 0;

	if (s.len != digits)
		return false;
	for (size_t i = 0; i < digits; i++) {
		char c = s.p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;

		if (d > 15)
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

static uint64_t hash_branch(struct sip_str b)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < b.len; i++)
		h = (h ^ (uint8_t)b.p[i]) * 1099511628211ull;
	return h;
}

static struct ext_uses *entry_for(struct nonce_uses *u, const char *ext, size_t extlen)
{
	struct strmap_node *n = strmap_find(&u->map, ext, extlen);
	struct ext_uses *e;

	if (n)
		return strmap_entry(n, struct ext_uses, node);
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	memcpy(e->ext, ext, extlen);
	strmap_insert(&u->map, &e->node, e->ext, extlen);
	return e;
}

/* A free slot, or the one of the oldest nonce, which is then forgotten. */
static struct slot *slot_for_new(struct ext_uses *e)
{
	struct slot *oldest = &e->slot[0];

	for (unsigned i = 0; i < NONCE_USE_SLOTS; i++) {
		if (!e->slot[i].issued)
			return &e->slot[i];
		if (e->slot[i].issued < oldest->issued)
			oldest = &e->slot[i];
	}
	if (oldest->issued > e->floor)
		e->floor = oldest->issued;
	return oldest;
}

enum nonce_use_verdict nonce_use(struct nonce_uses *u, const char *ext, size_t extlen,
				 struct sip_str nonce, struct sip_str nc, struct sip_str branch)
{
	uint32_t t, seq, mac, count = 0;
	uint64_t bh = hash_branch(branch), issued;
	struct ext_uses *e;
	struct slot *s;

	if (extlen == 0 || extlen > RF_MAX_EXT_LEN || nonce.len != DIGEST_NONCE_LEN ||
	    !parse_hex32((struct sip_str){nonce.p, 8}, 8, &t) ||
	    !parse_hex32((struct sip_str){nonce.p + 8, 8}, 8, &seq) ||
	    !parse_hex32((struct sip_str){nonce.p + 16, 8}, 8, &mac) ||
	    (nc.len && !parse_hex32(nc, 8, &count)))
		return NONCE_USE_REPLAYED;
	issued = (uint64_t)t << 32 | seq;
	if (issued == 0)
		return NONCE_USE_REPLAYED; /* never issued: 0 marks a free slot */
	e = entry_for(u, ext, extlen);
	if (!e)
		return NONCE_USE_REPLAYED; /* out of memory: refuse rather than trust */
	for (unsigned i = 0; i < NONCE_USE_SLOTS; i++) {
		s = &e->slot[i];
		if (!s->issued || s->issued != issued || s->mac != mac)
			continue;
		if (count == s->nc && bh == s->branch)
			return NONCE_USE_RETRANSMISSION;
		if (count <= s->nc)
			return NONCE_USE_REPLAYED;
		s->nc = count;
		s->branch = bh;
		return NONCE_USE_FRESH;
	}
	if (issued <= e->floor)
		return NONCE_USE_REPLAYED;
	s = slot_for_new(e);
	s->issued = issued;
	s->mac = mac;
	s->nc = count;
	s->branch = bh;
	return NONCE_USE_FRESH;
}
