/* The abstract reply every admin command writes to. A command says what it
 * has to report (records of typed fields, human notes, an error) and never
 * how: the CLI renders it as text or JSON, the HTTP API as JSON.
 *
 * A reply is a sequence of entries in the order the command wrote them:
 * notes (text for a person) and records (ordered key/value fields). When
 * the command declares columns, its records render as one table. */
#ifndef RF_ADMIN_REPLY_H
#define RF_ADMIN_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses, shared by the CLI and (mapped to HTTP codes) the API. */
enum admin_status {
	ADMIN_OK = 0,
	ADMIN_FAILED = 1, /* the request was understood but could not be done */
	ADMIN_USAGE = 2,  /* the request itself is wrong */
};

struct admin_column {
	const char *key;   /* field key, also the JSON name */
	const char *title; /* header in text tables */
};

struct admin_reply;

int admin_reply_alloc(struct admin_reply **rp);
void admin_reply_free(struct admin_reply *r);

/* Declare that records form a table with these columns (borrowed; they
 * must outlive the reply, normally static). */
void admin_reply_table(struct admin_reply *r, const struct admin_column *cols,
		       size_t ncols);
/* Start a new record; the field setters below add to the latest one. */
void admin_reply_record(struct admin_reply *r);
void admin_reply_str(struct admin_reply *r, const char *key, const char *val);
void admin_reply_int(struct admin_reply *r, const char *key, int64_t val);
void admin_reply_bool(struct admin_reply *r, const char *key, bool val);
/* Append one item to the list field `key`, creating it empty first. An
 * empty list is made with a NULL item. */
void admin_reply_list(struct admin_reply *r, const char *key, const char *item);
/* A line for a person; omitted from JSON unless the reply has no records. */
void admin_reply_note(struct admin_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Fail the request with a status and a one-line message. The first error
 * wins: later calls keep it. Returns status, so handlers can
 * `return admin_reply_error(...)`. */
int admin_reply_error(struct admin_reply *r, enum admin_status status,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

enum admin_status admin_reply_status(const struct admin_reply *r);
const char *admin_reply_message(const struct admin_reply *r); /* "" if none */
/* True after an allocation failed while building: the reply is incomplete. */
bool admin_reply_broken(const struct admin_reply *r);

/* Renderers. Text escapes control characters so a hostile User-Agent
 * cannot drive the terminal; JSON is pure ASCII with \u escapes. */
void admin_reply_print_text(const struct admin_reply *r, FILE *out);
void admin_reply_print_json(const struct admin_reply *r, FILE *out);

#endif
