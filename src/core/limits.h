/* Every hard cap in Ringfence, each with the reason it has that value.
 * A cap is a promise about the worst case: memory and CPU per message and per
 * peer stay bounded whatever arrives on the wire. */
#ifndef RF_LIMITS_H
#define RF_LIMITS_H

/* Largest SIP message we accept on any transport. A UDP datagram cannot be
 * larger, and no legitimate REGISTER or INVITE comes close (RFC 4475's
 * longest torture message is 3.5 KB). */
#define SIP_MAX_MSG_SIZE 65535u

/* Header fields per message. Real phones send 10-25; RFC 4475 longreq.dat
 * has about 50. The header index is a fixed array of this size. */
#define SIP_MAX_HEADERS 128u

/* One physical or folded header line. Long enough for a Via chain folded
 * into one field, short enough that a single line cannot eat the buffer. */
#define SIP_MAX_LINE_LEN 8192u

/* Via field values per message. Max-Forwards starts at 70, so a message
 * with more hops than that has looped. */
#define SIP_MAX_VIA 70u

/* Contacts in one REGISTER. A phone registers one or two; more is an attack
 * on the location table. */
#define SIP_MAX_CONTACTS_PER_REGISTER 10u

/* Route or Record-Route entries per message (each counted on its own);
 * more is refused with 400. */
#define SIP_MAX_ROUTES 16u

/* Parameters parsed per URI or header value. */
#define SIP_MAX_PARAMS 32u

/* Largest number we parse from any numeric field: CSeq is 32-bit unsigned
 * (RFC 3261 8.1.1.5); everything else is smaller. */
#define SIP_MAX_UINT32 4294967295ull

/* Content-Length cannot exceed the message cap. */
#define SIP_MAX_CONTENT_LENGTH SIP_MAX_MSG_SIZE

/* Max-Forwards: 0..255 per RFC 3261 grammar (1*DIGIT, but 70 is the start). */
#define SIP_MAX_MAX_FORWARDS 255u

/* Expires values: RFC 3261 allows up to 2**32-1; the registrar clamps far
 * lower (see [registrar] max_expires). */
#define SIP_MAX_EXPIRES SIP_MAX_UINT32

/* Lengths we store per registered contact. Anything longer is refused:
 * it only makes the location table a memory sink. */
#define SIP_MAX_CONTACT_URI_LEN 512u
#define SIP_MAX_USER_AGENT_LEN 256u
#define SIP_MAX_CALL_ID_LEN 256u

/* Extension names: digits and letters, short, so they are safe in logs,
 * file names and SQL. */
#define RF_MAX_EXT_LEN 32u

/* Per-connection receive buffer on TCP/TLS: one maximal message plus the
 * start of the next. A peer that fills it without completing a message is
 * disconnected instead of growing memory. */
#define SIP_MAX_STREAM_BUFFER (2u * SIP_MAX_MSG_SIZE)

/* Concurrent TCP/TLS connections in total; beyond this new ones are closed. */
#define SIP_MAX_CONNECTIONS 10000u

/* Untrusted strings in the security log are truncated to this many bytes
 * (before escaping) so a hostile header cannot flood the log. */
#define RF_LOG_MAX_FIELD 64u

/* Registered contacts per extension: the hard ceiling for
 * [registrar] max_contacts. */
#define RF_MAX_CONTACTS_PER_EXT 32u

/* ACL entries per extension. */
#define RF_MAX_ACL_ENTRIES 32u

/* ---- Stream transports and transactions ---- */

/* A TLS handshake must finish within this many seconds: a client that
 * opens a connection and stalls holds a slot of SIP_MAX_CONNECTIONS. */
#define SIP_STREAM_HANDSHAKE_TIMEOUT_S 5u

/* Once part of a message has arrived on a stream, the rest must follow
 * within this many seconds. Without it a peer could trickle one byte a
 * minute and keep a connection, and its buffer, forever (slowloris). */
#define SIP_STREAM_MESSAGE_TIMEOUT_S 10u

/* A TCP/TLS connection with no inbound bytes for this long is closed.
 * Phones refresh registrations or send CRLF keep-alives well within ten
 * minutes (RFC 5626 suggests 95-120 s), so only dead flows reach it. */
#define SIP_STREAM_IDLE_TIMEOUT_S 600u

/* Unsent output queued on one connection. A peer that stops reading while
 * we answer it is cut off before its queue becomes a memory sink. */
#define SIP_MAX_STREAM_OUTPUT (8u * SIP_MAX_MSG_SIZE)

/* Datagrams read per recvmmsg() call, and calls per readiness event: a
 * flood is drained in large batches without starving the other sockets. */
#define SIP_UDP_RECV_BATCH 32u
#define SIP_UDP_RECV_ROUNDS 8u

/* Kernel receive buffer asked for on each UDP socket, so bursts are
 * queued rather than dropped while the loop is busy. */
#define SIP_UDP_RCVBUF (4u * 1024u * 1024u)

/* Via branch and sent-by host we keep per transaction. Real branches are
 * under 64 bytes; a longer one is answered statelessly. */
#define SIP_MAX_BRANCH_LEN 128u
#define SIP_MAX_SENT_BY_LEN 256u

/* Live transactions in total, at least. Transactions exist only for
 * authenticated requests and our own outgoing ones, but they outlive their
 * call: an ended call leaves three of them absorbing retransmissions for
 * 64*T1 (32 s) and one for T4 (5 s), about 100 transaction-seconds per
 * call. 100,000 therefore carries about 1,000 new calls/s; the daemon
 * raises the cap to what [calls] max_cps needs (tsx_cap_for_call_rate). */
#define SIP_MAX_TRANSACTIONS 100000u

/* The most that cap is raised to, whatever max_cps says: 1,000,000 carries
 * about 9,900 calls/s, above what one signalling thread sets up (about
 * 200 us of CPU per call), and costs at most about 1.4 GB (a waiting
 * transaction keeps its request or response, about 1.4 KB in all). */
#define SIP_MAX_TRANSACTIONS_CEIL 1000000u

/* ---- SDP (RFC 4566) ---- */

/* Largest SDP body we parse. A WebRTC offer with audio, video, ICE
 * candidates and SRTP keys is about 6 KB; anything larger is refused. */
#define SDP_MAX_SIZE 16384u

/* Lines per SDP body. Real offers have 15-150 (most of them a=candidate,
 * a=rtpmap and a=ssrc); the cap bounds the work per body. */
#define SDP_MAX_LINES 512u

/* One SDP line, line end excluded. The longest real ones are a=fmtp with
 * H.264 sprop-parameter-sets and a=crypto with several keys (< 1 KB). */
#define SDP_MAX_LINE_LEN 2048u

/* ---- Numbering plans (fraud/numplan) ---- */

/* Digits in one prefix of a numbering-plan table. The longest real ones
 * are a country code with the digits that mark a country sharing it
 * (+39 06698, Vatican City) and UK ranges such as 0800 1111. */
#define NP_PREFIX_MAX 8u

/* One line of a numbering-plan data file, line end excluded. The longest
 * real line is about 130 bytes (a range with its comment). */
#define NP_LINE_MAX 256u

/* Entries in one numbering-plan table. About 300 country codes and 60 UK
 * ranges ship; the cap bounds memory and load time for any table text. */
#define NP_TABLE_MAX 4096u

/* ---- Fraud (fraud/pattern, core/clock) ---- */

/* The test-only clock offset, either way (core/clock.h): tests move the
 * clock by hours or weeks; ten years refuses a value pasted by mistake
 * and keeps every sum with a unix time far from overflow. */
#define RF_CLOCK_OFFSET_MAX 315576000u

/* Extensions the calling-pattern engine keeps a baseline for (about
 * 1.1 KB each, so 11 MB at most): offices have up to a few thousand, and
 * CDR history may name deleted ones. Past it, the extension idle longest
 * without a live call is forgotten. */
#define PATTERN_MAX_EXTS 10000u

/* Trunks the engine counts calls for (about 330 bytes each): a PBX has a
 * handful; history never creates them, only live calls do. */
#define PATTERN_MAX_TRUNKS 256u

/* Live calls the engine tracks (72 bytes each): the ceiling of
 * [calls] max_calls, so no call the daemon lets out goes uncounted. */
#define PATTERN_MAX_LIVE_CALLS 100000u

/* ---- Blacklists and rates (S12, S13) ---- */

/* Entries per blacklist (destinations and callers, each). Published fraud
 * lists hold hundreds to a few thousand prefixes; the cap bounds the
 * daemon's copy of one list at about 26 MB (records of 232 bytes, mostly
 * the reason, plus a 3 MB index; fraud/prefix.h). */
#define RF_MAX_BLACKLIST 100000u

/* Prefixes in the rate table. A carrier's whole A-Z deck with every mobile
 * range has 50,000 to 200,000; the daemon's copy is then at most about
 * 30 MB (56-byte records plus a 12 MB index). */
#define RF_MAX_RATES 300000u
/* ---- Trunks: outbound connections, DNS and registration ---- */

/* An outbound TCP connect plus TLS handshake to a provider must finish in
 * this time; a provider that does not answer must not hold a registration
 * attempt for the kernel's two-minute connect timeout. */
#define SIP_CLIENT_CONNECT_TIMEOUT_S 10u

/* Records kept from one DNS answer (NAPTR, SRV or addresses). Providers
 * publish a handful; a larger answer is cut, not allowed to grow memory. */
#define DNS_MAX_RECORDS 16u

/* Targets in one resolved list (every SRV target's addresses together). */
#define DNS_MAX_TARGETS 32u

/* Resolved names kept in the cache; the oldest entry makes room. Trunks
 * are few, so this is far above need and still small. */
#define DNS_CACHE_MAX 256u

/* TTLs are clamped to this range (s): a 0 TTL would send a query per
 * request, a week-long one would pin a moved provider. */
#define DNS_TTL_MIN_S 5u
#define DNS_TTL_MAX_S 86400u

/* A query that has no answer within this time (c-ares retries inside it)
 * fails the resolution. */
#define DNS_QUERY_TIMEOUT_MS 5000u

/* WWW-/Proxy-Authenticate challenges looked at in one response, and the
 * longest realm, nonce and opaque we copy from a provider. */
#define TRUNK_MAX_CHALLENGES 8u
#define TRUNK_MAX_REALM_LEN 128u
#define TRUNK_MAX_NONCE_LEN 256u
#define TRUNK_MAX_OPAQUE_LEN 256u

/* Registration retry backoff after a failure (s): starts at the minimum,
 * doubles, and stops growing at the maximum, so a provider that is down is
 * asked about once every 30 minutes at most. */
#define TRUNK_RETRY_MIN_S 30u
#define TRUNK_RETRY_MAX_S 1800u

/* A trunk host name is looked up again this often (s), so calls follow a
 * provider that moves; the resolver's cache answers until the record's
 * TTL runs out, so this costs no query per interval. */
#define TRUNK_RESOLVE_REFRESH_S 60u

/* Expiry we ask a provider for, and the range of grants we accept: a
 * grant below the minimum is refreshed at the minimum to avoid a storm. */
#define TRUNK_REGISTER_EXPIRES_S 3600u
#define TRUNK_MIN_GRANTED_S 5u

/* The largest Min-Expires (423) we follow: a day. A larger one is a
 * provider's mistake, and the registration fails with it instead. */
#define TRUNK_MAX_MIN_EXPIRES_S 86400u

/* ---- Inbound calls over trunks (sip/call_in.c, fraud/caller_rate.h) ---- */

/* Caller numbers the SPIT rate limit tracks in its one-minute window
 * (about 80 bytes each). A flood of distinct numbers beyond it is not
 * tracked: the trunk's max_calls still caps what it can ring at once. */
#define RF_MAX_RATED_CALLERS 10000u

#endif
