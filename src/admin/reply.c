/* The admin reply object and its text and JSON renderers. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "admin/reply.h"

enum field_type { F_STR, F_INT, F_BOOL, F_LIST };

struct field {
	char *key;
	enum field_type type;
	char *str;
	int64_t num;
	bool b;
	char **items;
	size_t nitems;
};

/* A note (text only) or a record (fields). */
struct entry {
	char *note;
	struct field *fields;
	size_t nfields;
};

struct admin_reply {
	struct entry *entries;
	size_t nentries;
	const struct admin_column *cols; /* borrowed, static */
	size_t ncols;
	enum admin_status status;
	char message[5120]; /* room for ext import: 20 bad lines, each FILE:LINE: reason */
	bool broken; /* an allocation failed: output would be incomplete */
};

int admin_reply_alloc(struct admin_reply **rp)
{
	struct admin_reply *r = calloc(1, sizeof(*r));

	if (!r)
		return ENOMEM;
	*rp = r;
	return 0;
}

/* Replies can carry a generated password: wipe before freeing. */
static void free_wiped(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

static void field_free(struct field *f)
{
	size_t i;

	free(f->key);
	free_wiped(f->str);
	for (i = 0; i < f->nitems; i++)
		free(f->items[i]);
	free(f->items);
}

void admin_reply_free(struct admin_reply *r)
{
	size_t i, j;

	if (!r)
		return;
	for (i = 0; i < r->nentries; i++) {
		free_wiped(r->entries[i].note);
		for (j = 0; j < r->entries[i].nfields; j++)
			field_free(&r->entries[i].fields[j]);
		free(r->entries[i].fields);
	}
	free(r->entries);
	free(r);
}

void admin_reply_table(struct admin_reply *r, const struct admin_column *cols,
		       size_t ncols)
{
	r->cols = cols;
	r->ncols = ncols;
}

static struct entry *entry_new(struct admin_reply *r)
{
	struct entry *e = realloc(r->entries, (r->nentries + 1) * sizeof(*e));

	if (!e) {
		r->broken = true;
		return NULL;
	}
	r->entries = e;
	e = &r->entries[r->nentries++];
	memset(e, 0, sizeof(*e));
	return e;
}

void admin_reply_record(struct admin_reply *r)
{
	entry_new(r);
}

/* The latest record, starting one if the command forgot to. */
static struct entry *cur_record(struct admin_reply *r)
{
	if (r->nentries && !r->entries[r->nentries - 1].note)
		return &r->entries[r->nentries - 1];
	return entry_new(r);
}

static struct field *field_find(struct entry *e, const char *key)
{
	size_t i;

	for (i = 0; i < e->nfields; i++)
		if (strcmp(e->fields[i].key, key) == 0)
			return &e->fields[i];
	return NULL;
}

static struct field *field_new(struct admin_reply *r, const char *key,
			       enum field_type type)
{
	struct entry *e = cur_record(r);
	struct field *f;

	if (!e)
		return NULL;
	f = realloc(e->fields, (e->nfields + 1) * sizeof(*f));
	if (!f) {
		r->broken = true;
		return NULL;
	}
	e->fields = f;
	f = &e->fields[e->nfields];
	memset(f, 0, sizeof(*f));
	f->type = type;
	f->key = strdup(key);
	if (!f->key) {
		r->broken = true;
		return NULL;
	}
	e->nfields++;
	return f;
}

void admin_reply_str(struct admin_reply *r, const char *key, const char *val)
{
	struct field *f = field_new(r, key, F_STR);

	if (f && !(f->str = strdup(val ? val : "")))
		r->broken = true;
}

void admin_reply_int(struct admin_reply *r, const char *key, int64_t val)
{
	struct field *f = field_new(r, key, F_INT);

	if (f)
		f->num = val;
}

void admin_reply_bool(struct admin_reply *r, const char *key, bool val)
{
	struct field *f = field_new(r, key, F_BOOL);

	if (f)
		f->b = val;
}

void admin_reply_list(struct admin_reply *r, const char *key, const char *item)
{
	struct entry *e = cur_record(r);
	struct field *f = e ? field_find(e, key) : NULL;
	char **items;

	if (!f)
		f = field_new(r, key, F_LIST);
	if (!f || !item)
		return;
	items = realloc(f->items, (f->nitems + 1) * sizeof(*items));
	if (!items) {
		r->broken = true;
		return;
	}
	f->items = items;
	if (!(items[f->nitems] = strdup(item))) {
		r->broken = true;
		return;
	}
	f->nitems++;
}

void admin_reply_note(struct admin_reply *r, const char *fmt, ...)
{
	struct entry *e;
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->broken = true;
		return;
	}
	e = entry_new(r);
	if (!e) {
		free(s);
		return;
	}
	e->note = s;
}

int admin_reply_error(struct admin_reply *r, enum admin_status status,
		      const char *fmt, ...)
{
	va_list ap;

	if (r->status != ADMIN_OK)
		return r->status;
	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	return status;
}

enum admin_status admin_reply_status(const struct admin_reply *r)
{
	return r->status;
}

const char *admin_reply_message(const struct admin_reply *r)
{
	return r->message;
}

bool admin_reply_broken(const struct admin_reply *r)
{
	return r->broken;
}

/* ---- UTF-8 and escaping ---- */

/* Decode one UTF-8 sequence at s (n bytes left). Returns its length and
 * the code point, or 0 for an invalid or overlong sequence. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Text: valid printable UTF-8 passes, control characters (C0, DEL, C1)
 * and invalid bytes become \xHH. Returns the display width written. */
static size_t text_escape(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, width = 0, len;
	uint32_t cp;

	while (i < n) {
		len = utf8_decode(s + i, n - i, &cp);
		if (len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			if (out)
				fprintf(out, "\\x%02x", s[i]);
			width += 4;
			i++;
			continue;
		}
		if (out)
			fwrite(s + i, 1, len, out);
		width++;
		i += len;
	}
	return width;
}

/* The inside of a JSON string: ASCII only, everything else \u-escaped. */
static void json_body(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, len;
	uint32_t cp;

	while (i < n) {
		len = utf8_decode(s + i, n - i, &cp);
		if (len == 0) {
			cp = 0xfffd; /* invalid byte: the replacement character */
			len = 1;
		}
		i += len;
		if (cp == '"' || cp == '\\')
			fprintf(out, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", out);
		else if (cp == '\t')
			fputs("\\t", out);
		else if (cp >= 0x20 && cp < 0x7f)
			fputc((int)cp, out);
		else if (cp < 0x10000)
			fprintf(out, "\\u%04x", (unsigned)cp);
		else
			fprintf(out, "\\u%04x\\u%04x",
				(unsigned)(0xd800 + ((cp - 0x10000) >> 10)),
				(unsigned)(0xdc00 + ((cp - 0x10000) & 0x3ff)));
	}
}

static void json_string(FILE *out, const char *str)
{
	fputc('"', out);
	json_body(out, str);
	fputc('"', out);
}

static size_t count_records(const struct admin_reply *r);

/* ---- text ---- */

/* The text form of a field's value, into buf. */
static const char *field_text(const struct field *f, char *buf, size_t len)
{
	size_t i, used = 0;

	switch (f->type) {
	case F_STR:
		return f->str[0] ? f->str : "-";
	case F_INT:
		snprintf(buf, len, "%lld", (long long)f->num);
		return buf;
	case F_BOOL:
		return f->b ? "yes" : "no";
	case F_LIST:
		if (f->nitems == 0)
			return "-";
		buf[0] = '\0';
		for (i = 0; i < f->nitems && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
						 i ? "," : "", f->items[i]);
		return buf;
	}
	return "";
}

static const struct field *record_field(const struct entry *e, const char *key)
{
	return field_find((struct entry *)e, key);
}

static void print_record_text(const struct entry *e, FILE *out)
{
	char buf[2048];
	size_t i;

	for (i = 0; i < e->nfields; i++) {
		fprintf(out, "%s: ", e->fields[i].key);
		text_escape(out, field_text(&e->fields[i], buf, sizeof(buf)));
		fputc('\n', out);
	}
}

static const char *cell(const struct entry *e, const char *key, char *buf,
			size_t len)
{
	const struct field *f = record_field(e, key);

	return f ? field_text(f, buf, len) : "-";
}

static void print_table_text(const struct admin_reply *r, FILE *out)
{
	size_t width[16] = { 0 };
	size_t c, i, w, ncols = r->ncols < 16 ? r->ncols : 16;
	char buf[2048];

	for (c = 0; c < ncols; c++)
		width[c] = strlen(r->cols[c].title);
	for (i = 0; i < r->nentries; i++) {
		if (r->entries[i].note)
			continue;
		for (c = 0; c < ncols; c++) {
			w = text_escape(NULL, cell(&r->entries[i], r->cols[c].key, buf, sizeof(buf)));
			if (w > width[c])
				width[c] = w;
		}
	}
	for (c = 0; c < ncols; c++)
		fprintf(out, "%s%-*s", c ? "  " : "",
			c + 1 < ncols ? (int)width[c] : 0, r->cols[c].title);
	fputc('\n', out);
	for (i = 0; i < r->nentries; i++) {
		if (r->entries[i].note)
			continue;
		for (c = 0; c < ncols; c++) {
			const char *v = cell(&r->entries[i], r->cols[c].key, buf, sizeof(buf));

			if (c)
				fputs("  ", out);
			w = text_escape(out, v);
			if (c + 1 < ncols)
				fprintf(out, "%*s", (int)(width[c] - w), "");
		}
		fputc('\n', out);
	}
}

void admin_reply_print_text(const struct admin_reply *r, FILE *out)
{
	bool table_done = false;
	size_t i;

	/* An empty table still shows its header: "nothing" is an answer. */
	if (r->cols && count_records(r) == 0) {
		print_table_text(r, out);
		table_done = true;
	}

	for (i = 0; i < r->nentries; i++) {
		const struct entry *e = &r->entries[i];

		if (e->note) {
			text_escape(out, e->note);
			fputc('\n', out);
		} else if (r->cols) {
			if (!table_done)
				print_table_text(r, out);
			table_done = true;
		} else {
			if (i && !r->entries[i - 1].note)
				fputc('\n', out); /* a blank line between records */
			print_record_text(e, out);
		}
	}
}

/* ---- JSON ---- */

static void print_field_json(const struct field *f, FILE *out)
{
	size_t i;

	json_string(out, f->key);
	fputs(": ", out);
	switch (f->type) {
	case F_STR:
		json_string(out, f->str);
		break;
	case F_INT:
		fprintf(out, "%lld", (long long)f->num);
		break;
	case F_BOOL:
		fputs(f->b ? "true" : "false", out);
		break;
	case F_LIST:
		fputc('[', out);
		for (i = 0; i < f->nitems; i++) {
			if (i)
				fputs(", ", out);
			json_string(out, f->items[i]);
		}
		fputc(']', out);
		break;
	}
}

static void print_record_json(const struct entry *e, FILE *out, const char *indent)
{
	size_t i;

	fputc('{', out);
	for (i = 0; i < e->nfields; i++) {
		fprintf(out, "%s\n%s  ", i ? "," : "", indent);
		print_field_json(&e->fields[i], out);
	}
	if (e->nfields)
		fprintf(out, "\n%s", indent);
	fputc('}', out);
}

static size_t count_records(const struct admin_reply *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->nentries; i++)
		n += r->entries[i].note == NULL;
	return n;
}

static void print_notes_json(const struct admin_reply *r, FILE *out)
{
	bool first = true;
	size_t i;

	fputs("{\"message\": \"", out);
	for (i = 0; i < r->nentries; i++) {
		if (!r->entries[i].note)
			continue;
		if (!first)
			fputs("\\n", out);
		first = false;
		json_body(out, r->entries[i].note);
	}
	fputs("\"}\n", out);
}

void admin_reply_print_json(const struct admin_reply *r, FILE *out)
{
	size_t i, n = count_records(r), k = 0;
	bool array = r->cols || n > 1;

	if (n == 0 && !r->cols) {
		print_notes_json(r, out);
		return;
	}
	if (array)
		fputs("[", out);
	for (i = 0; i < r->nentries; i++) {
		if (r->entries[i].note)
			continue;
		if (array)
			fprintf(out, "%s\n  ", k ? "," : "");
		print_record_json(&r->entries[i], out, array ? "  " : "");
		k++;
	}
	if (array)
		fputs(k ? "\n]" : "]", out);
	fputc('\n', out);
}
