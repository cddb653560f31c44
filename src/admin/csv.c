/* Reading one line of CSV (RFC 4180), for the import commands. */
#include "admin/csv.h"

/* Split one CSV line into at most `max` fields, in place. Quoted fields may
 * hold commas and doubled quotes. Returns the field count, or -1 with a
 * reason for a broken line. */
int csv_split(char *line, char **f, int max, const char **why)
{
	char *in = line, *out;
	int n = 0;

	for (;;) {
		if (n == max) {
			*why = CSV_TOO_MANY;
			return -1;
		}
		f[n++] = out = in;
		if (*in == '"') {
			for (in++;; in++) {
				if (*in == '\0') {
					*why = "unterminated quoted field";
					return -1;
				}
				if (*in == '"' && in[1] == '"')
					*out++ = *in++;
				else if (*in == '"')
					break;
				else
					*out++ = *in;
			}
			in++;
			if (*in != ',' && *in != '\0') {
				*why = "text after a closing quote";
				return -1;
			}
		} else {
			while (*in && *in != ',')
				*out++ = *in++;
		}
		if (*in == '\0') {
			*out = '\0';
			return n;
		}
		*out = '\0';
		in++;
	}
}
