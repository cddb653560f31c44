/* Blacklists (S12) in memory: the destination list, checked on every
 * outbound call, and the caller list, checked on every inbound call, each
 * a longest-prefix table over the store's rows (fraud/prefix.h).
 *
 * Numbers are matched after normalisation to E.164 (fraud/numplan.h), so
 * "00972...", "+972..." and a bare "972..." dialled by a phone all meet
 * the one row "+972" that `ringfence blacklist add` stored.
 *
 * A loaded list is read-only: the daemon builds a new one aside when the
 * store's data_version changes (on its signalling thread), then swaps
 * one pointer and frees the old list. */
#ifndef RF_FRAUD_BLACKLIST_H
#define RF_FRAUD_BLACKLIST_H

#include <stddef.h>

#include "store/store.h"

struct blacklist;

/* Load every row of one direction. Rows whose prefix is not E.164 (only
 * a hand edit of the database leaves one) are skipped and counted.
 * Returns 0, ENOMEM, E2BIG for more than RF_MAX_BLACKLIST rows, or the
 * store's error; *out is set only on success. */
int blacklist_load(struct store *s, enum blacklist_dir dir, struct blacklist **out);
void blacklist_free(struct blacklist *b);

/* The entry with the longest prefix of e164 (E.164 with its '+'), or
 * NULL when none matches. The record lives as long as the list. */
const struct blacklist_record *blacklist_match(const struct blacklist *b, const char *e164);

/* Entries loaded, and rows skipped by blacklist_load. */
size_t blacklist_count(const struct blacklist *b);
size_t blacklist_skipped(const struct blacklist *b);

#endif
