/* Operational log (stderr or syslog). Security events have their own
 * stable format: see guard/secevent.h. */
#ifndef RF_CORE_LOG_H
#define RF_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_threshold;

void log_set_level(enum log_level lvl);
void log_use_syslog(bool on);
/* Parse "error|warn|info|debug"; returns false for anything else. */
bool log_level_parse(const char *s, enum log_level *out);

void log_write(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The level test happens before any formatting work. */
#define log_error(...) do { if (log_threshold >= LOG_LVL_ERROR) log_write(LOG_LVL_ERROR, __VA_ARGS__); } while (0)
#define log_warn(...)  do { if (log_threshold >= LOG_LVL_WARN)  log_write(LOG_LVL_WARN,  __VA_ARGS__); } while (0)
#define log_info(...)  do { if (log_threshold >= LOG_LVL_INFO)  log_write(LOG_LVL_INFO,  __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_threshold >= LOG_LVL_DEBUG) log_write(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

/* Escape untrusted bytes for a log line: at most `max` input bytes are
 * used; printable ASCII except space, '"', '\\', '=' and '%' is copied,
 * everything else becomes \xHH; a cut value ends with "...". The result
 * contains no space, quote, control character or newline, so it cannot
 * forge a field. Always NUL-terminates (outlen >= 1). Returns the length
 * written. */
size_t log_escape(const char *in, size_t len, size_t max, char *out,
		  size_t outlen);

/* One byte as a person reads it in an error message: 'Y', "a space",
 * "byte 0x07". Returns buf (16 bytes are enough). */
const char *log_char_name(unsigned char c, char *buf, size_t len);

#endif
