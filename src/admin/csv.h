/* One line of CSV (RFC 4180): fields separated by commas; a field in
 * double quotes may hold commas, and "" stands for one quote. */
#ifndef RF_ADMIN_CSV_H
#define RF_ADMIN_CSV_H

/* The reason for a line with more than `max` fields (the callers name
 * their columns after it). */
#define CSV_TOO_MANY "too many fields"

/* Split a NUL-terminated line into at most `max` fields, in place (the
 * line is rewritten; f[] points into it). Returns the field count, or -1
 * with a static reason in *why: too many fields, an unterminated quote,
 * text after a closing quote. */
int csv_split(char *line, char **f, int max, const char **why);

#endif
