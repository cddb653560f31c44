/* Known SIP scanner tools (S6). Attack tools announce themselves in their
 * defaults: svmap/svwar/svcrack say "friendly-scanner", SIPPTS "pplsip",
 * nmap's probe comes From <sip:nm@nm>, and so on. A request that carries
 * one of these marks gets no answer and its source is banned. Scanners
 * that rename themselves are caught by behaviour instead (guard/ban.h).
 * The built-in list comes from published scanner fingerprints and leaves
 * out every mark a legitimate product also uses (such as "Asterisk PBX" or
 * "Zoiper"); the administrator can add User-Agent prefixes. */
#ifndef RF_GUARD_SCANNER_H
#define RF_GUARD_SCANNER_H

#include <stddef.h>

/* The tool a request's User-Agent value or From value marks, as a short
 * token ("sipvicious", "sippts" ...), or NULL. `extra` is a comma-separated
 * list of further User-Agent prefixes (case-insensitive), or NULL; a match
 * there is reported as "configured". Either value may be NULL. */
const char *scanner_match(const char *ua, size_t ualen, const char *from, size_t fromlen,
			  const char *extra);

#endif
