/* libFuzzer harness for the CSV line splitter behind `ext import`. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "admin/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[1100], *f[3];
	const char *why = NULL;
	int n;

	if (size >= sizeof(line))
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	n = csv_split(line, f, 3, &why);
	if (n < 0 ? why == NULL : n > 3)
		__builtin_trap();
	for (int i = 0; i < n; i++) {
		/* Every field lies inside the line and is terminated there. */
		if (f[i] < line || f[i] > line + size || strlen(f[i]) > size)
			__builtin_trap();
	}
	return 0;
}
