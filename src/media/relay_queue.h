/* A bounded single-producer/single-consumer ring of fixed-size records,
 * private to the media relay. One thread pushes, one other thread pops;
 * neither ever blocks or takes a lock. The producer owns `tail`, the
 * consumer owns `head`; each reads the other's index with acquire order so
 * the record bytes written before a release store are visible after it.
 * Capacity is a power of two so positions wrap with a mask. */
#ifndef RF_MEDIA_RELAY_QUEUE_H
#define RF_MEDIA_RELAY_QUEUE_H

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct spsc {
	/* Separate cache lines: the two threads write different indices. */
	alignas(64) _Atomic size_t head; /* next record to pop; consumer writes */
	alignas(64) _Atomic size_t tail; /* next free record; producer writes */
	alignas(64) size_t mask;         /* capacity - 1 */
	size_t rec_size;
	unsigned char *buf;
};

static inline size_t spsc_round_pow2(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* At least `min_records` records of `rec_size` bytes. */
static inline int spsc_init(struct spsc *q, size_t min_records, size_t rec_size)
{
	size_t cap = spsc_round_pow2(min_records < 2 ? 2 : min_records);

	q->buf = calloc(cap, rec_size);
	if (!q->buf)
		return ENOMEM;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	q->mask = cap - 1;
	q->rec_size = rec_size;
	return 0;
}

static inline void spsc_fini(struct spsc *q)
{
	free(q->buf);
	q->buf = NULL;
}

static inline size_t spsc_capacity(const struct spsc *q)
{
	return q->mask + 1;
}

/* Records in the ring as the producer sees it (exact for the producer,
 * an upper bound for anyone else). */
static inline size_t spsc_used(struct spsc *q)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);

	return tail - head;
}

/* Producer only. False when the ring is full. */
static inline bool spsc_push(struct spsc *q, const void *rec)
{
	size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&q->head, memory_order_acquire);

	if (tail - head > q->mask)
		return false;
	memcpy(q->buf + (tail & q->mask) * q->rec_size, rec, q->rec_size);
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	return true;
}

/* Consumer only. False when the ring is empty. */
static inline bool spsc_pop(struct spsc *q, void *rec)
{
	size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);

	if (head == tail)
		return false;
	memcpy(rec, q->buf + (head & q->mask) * q->rec_size, q->rec_size);
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	return true;
}

#endif
