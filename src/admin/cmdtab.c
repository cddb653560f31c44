/* The command table and the help texts built from it. The help of each
 * command is its manual page: synopsis, description, options, examples and
 * exit status. */
#include <string.h>

#include "admin/admin.h"
#include "admin/cmd_alert.h"
#include "admin/cmd_ban.h"
#include "admin/cmd_credit.h"
#include "admin/cmd_ext_policy.h"
#include "admin/cmd_firewall.h"
#include "admin/cmd_fraud.h"
#include "admin/cmd_trunk.h"
#include "admin/util.h"
#include "core/conf.h"
#include "core/limits.h"
#include "fraud/numplan.h"

#define SRTP_TEXT \
	"SRTP: --srtp sets what this extension's calls use for media.\n" \
	"optional (the default) encrypts a leg whenever the phone offers\n" \
	"or accepts SRTP and falls back to plain RTP otherwise; required\n" \
	"refuses a call whose SDP has no SRTP (488) and logs it; off never\n" \
	"offers SRTP to the phone. Either way the relay bridges SRTP and\n" \
	"RTP between the two legs, each leg with its own keys. A remote\n" \
	"extension is always required: --remote without --srtp stores\n" \
	"required, and --srtp optional or off with --remote is refused,\n" \
	"because a remote phone's calls cross networks outside the LAN.\n"

#define OPT_SRTP(text) { "--srtp", "MODE", false, text }

#define OPTS_POLICY \
	{ "--cos", "CLASS", false, "Class of service: internal, national (the default) or international." }, \
	{ "--allow", "LIST", false, "Barred number classes this extension may call anyway: premium, personal, directory, service ('' for none)." }, \
	{ "--countries", "LIST", false, "Countries class international may call, as ISO codes: FR,DE,IE ('' for none)." }, \
	{ "--caller-id", "NUMBER", false, "Number presented on its outbound calls ('' for none)." }

#define POLICY_TEXT \
	"Calling policy: --cos sets how far the extension may call. internal\n" \
	"reaches extensions only; national (the default) also the country's\n" \
	"own geographic, non-geographic, mobile and freephone numbers and\n" \
	"short codes; international also the countries named by --countries,\n" \
	"and only those. Premium (09), personal (070), directory (118) and\n" \
	"service (084, 087) numbers are barred for every class unless\n" \
	"--allow names them. Emergency numbers (999, 112) are always allowed\n" \
	"and always raise an alert. Numbers are read with the [numbering]\n" \
	"country plan (docs/numbering.md); --caller-id is normalised to\n" \
	"E.164 and must be a number a line can have.\n"

/* whose: "its calls", "the calls over it"; kind: "ext", "trunk". */
#define OPTS_CAPS(whose, kind) \
	{ "--daily-cap", "AMOUNT", false, "Most " whose " may cost in a day, such as 20 or 7.50; 0 or default: [credit] " kind "_daily_cap." }, \
	{ "--monthly-cap", "AMOUNT", false, "Most " whose " may cost in a calendar month; 0 or default: [credit] " kind "_monthly_cap." }

#define CAPS_TEXT \
	"Spending caps: --daily-cap and --monthly-cap set the most this\n" \
	"extension's chargeable calls may cost in a local calendar day and\n" \
	"month, in [credit] currency, exact to 6 decimals (20, 20.00, 0.50;\n" \
	"no sign, symbol or thousands separator; at most 1000000). 0 or\n" \
	"the word default stands for the configured default, [credit]\n" \
	"ext_daily_cap and ext_monthly_cap (20 and 200 unless changed);\n" \
	"ext show prints default then. At a cap, new calls are refused and\n" \
	"live ones ended; 'ringfence spend' shows the spend against each\n" \
	"cap. A monthly cap below the daily one given with it is refused.\n"

#define TRUNK_CAPS_TEXT \
	"Spending caps: --daily-cap and --monthly-cap set the most the\n" \
	"chargeable calls over this trunk, from every extension together,\n" \
	"may cost in a local calendar day and month, in [credit] currency,\n" \
	"exact to 6 decimals (30, 30.00, 0.50; at most 1000000). 0 or the\n" \
	"word default stands for [credit] trunk_daily_cap and\n" \
	"trunk_monthly_cap, which are no cap unless configured: the system\n" \
	"caps cover a site with one trunk. Give a trunk caps of its own when\n" \
	"it has a budget of its own, such as a prepaid account. At a cap, new\n" \
	"calls over the trunk are refused and live ones ended; 'ringfence\n" \
	"spend' shows the spend against each cap.\n"

#define OPT_JSON { "--json", NULL, false, "Print the result as JSON instead of a table." }
#define OPT_CALLER(text) { "--caller", NULL, false, text }

#define NUMBER_TEXT \
	"NUMBER is written as people dial it and normalised to E.164 with\n" \
	"the numbering plan of [numbering] country before it is stored, so\n" \
	"0909, +44909, 0044909 and +44 909 are one entry, and so are 00972\n" \
	"and +972. A country code needs + or 00 before it: a bare 972 is\n" \
	"refused, since it could as well be the start of a national number.\n" \
	"Spaces, dots, dashes and brackets are ignored; letters are refused.\n"

#define IMPORT_CHECK_TEXT \
	"Every line is checked before anything is written. A number that\n" \
	"does not normalise, a bad field, a broken line, or a prefix the\n" \
	"file lists twice in any spelling (0909 and +44909: the lines may\n" \
	"disagree, and neither can be guessed right) stops the import with\n" \
	"exit status 1, and every bad line is reported as FILE:LINE: reason,\n" \
	"up to 20 of them. Nothing is imported then.\n"
#define OPT_END { NULL, NULL, false, NULL }

#define PW_TEXT \
	"Without --password a random password of 24 characters (upper and\n" \
	"lower case letters, digits and symbols, from the system CSPRNG) is\n" \
	"generated and printed once, on a line of its own:\n" \
	"\n" \
	"    password: <the password>\n" \
	"\n" \
	"Store it in the phone right away: Ringfence keeps only the digest\n" \
	"hashes (HA1, MD5 and SHA-256, for the configured realm) and cannot\n" \
	"show it again. A password chosen by hand must have at least 10\n" \
	"characters with upper and lower case letters, a digit and a symbol,\n" \
	"must not contain the extension, and must not be a dictionary word\n" \
	"with decorations (checked with libpwquality/cracklib); a refusal\n" \
	"names the rule that failed. With --password - the password is read\n" \
	"from the first line of standard input, which keeps it out of the\n" \
	"process list and the shell history.\n"

const struct admin_cmd admin_cmds[] = {
	{
		.name = "init",
		.access = ADMIN_LOCAL,
		.needs = NEEDS_NOTHING,
		.min_pos = 0, .max_pos = 0,
		.opts = {
			{ "--dir", "DIR", false, "Directory of the new instance (required). Created with mode 0750 if missing." },
			{ "--listen", "ADDR", false, "IPv4 or IPv6 address to listen on. Default 127.0.0.1." },
			{ "--port", "N", false, "SIP port for UDP and TCP; TLS uses N+1. Default 5060." },
			{ "--realm", "REALM", false, "Digest realm and SIP domain. Default: the listen address." },
			OPT_END,
		},
		.summary = "create a new instance: configuration, database, secrets, certificate",
		.synopsis = "init --dir DIR [--listen ADDR] [--port N] [--realm REALM]",
		.description =
			"Create a complete, secure instance in DIR:\n"
			"\n"
			"    DIR/ringfence.conf   configuration (every default shown, commented)\n"
			"    DIR/ringfence.db     extension directory and registrations (0600)\n"
			"    DIR/secret.key       32 random bytes keying the nonces (0600)\n"
			"    DIR/tls/cert.pem     self-signed ECDSA P-256 certificate, 10 years\n"
			"    DIR/tls/key.pem      its private key (0600)\n"
			"    DIR/security.log     the security event log\n"
			"\n"
			"Two demo extensions, 1001 and 1002, are created with generated\n"
			"passwords, which are printed once. Nothing has a default password.\n"
			"init refuses to touch a directory that already holds a\n"
			"ringfence.conf, and removes what it created if any step fails.\n"
			"\n"
			"Run as root, init creates the unprivileged system user 'ringfence'\n"
			"if it does not exist and gives it the instance directory; the\n"
			"daemon and the other commands then run as that user.\n",
		.examples =
			"ringfence init --dir /var/lib/ringfence\n"
			"ringfence init --dir demo --listen 192.168.1.10 --port 5080\n",
		.handler = cmd_init,
	},
	{
		.name = "ext add",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "EXT",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			{ "--name", "NAME", false, "Display name of the extension." },
			{ "--password", "PW", false, "Password chosen by hand ('-' reads it from standard input). Default: generate one." },
			{ "--permit", "CIDR", true, "Allow registration from this network. Default: the LAN only." },
			{ "--deny", "CIDR", true, "Refuse registration from this network. Deny wins over permit." },
			{ "--remote", NULL, false, "Allow registration from anywhere, over TLS only; implies --srtp required." },
			OPT_SRTP("SRTP policy of its calls: required, optional or off. Default optional; required for --remote."),
			OPTS_POLICY,
			OPTS_CAPS("its calls", "ext"),
			OPT_END,
		},
		.summary = "add an extension",
		.synopsis = "ext add EXT [--name NAME] [--password PW] [--permit CIDR]... [--deny CIDR]... [--remote] [--srtp MODE]\n"
			    "        [--cos CLASS] [--allow LIST] [--countries LIST] [--caller-id NUMBER]\n"
			    "        [--daily-cap AMOUNT] [--monthly-cap AMOUNT]",
		.description =
			"Add extension EXT: 1 to 32 characters of digits, letters, '_',\n"
			"'.' and '-'.\n"
			"\n"
			PW_TEXT
			"\n"
			"Access: with no --permit, the extension may register from the LAN\n"
			"only (RFC 1918, loopback, ULA and [security] lan). --permit\n"
			"replaces that with the given networks; --deny entries always\n"
			"apply. A CIDR with host bits set (192.168.1.5/16) is refused as a\n"
			"likely typo. --remote lets the extension register from outside\n"
			"the LAN, but only over TLS.\n"
			"\n"
			SRTP_TEXT
			"\n"
			POLICY_TEXT
			"\n"
			CAPS_TEXT
			"\n"
			"The change reaches a running daemon within a second and is\n"
			"recorded as event ext_added in the security log.\n",
		.examples =
			"ringfence ext add 1003 --name \"Front desk\"\n"
			"ringfence ext add 1004 --permit 192.168.10.0/24 --deny 192.168.10.66\n"
			"ringfence ext add 1005 --srtp required\n"
			"ringfence ext add 2001 --remote\n"
			"ringfence ext add 1006 --cos international --countries FR,IE --caller-id 01632960006\n"
			"ringfence ext add 1007 --daily-cap 5 --monthly-cap 50\n",
		.handler = cmd_ext_add,
	},
	{
		.name = "ext list",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_JSON, OPT_END },
		.summary = "list extensions",
		.synopsis = "ext list [--json]",
		.description =
			"List every extension with its name, access lists, whether it may\n"
			"register remotely and its SRTP policy (required, optional or\n"
			"off). Credentials are never shown.\n",
		.examples = "ringfence ext list\nringfence ext list --json\n",
		.handler = cmd_ext_list,
	},
	{
		.name = "ext show",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.pos_names = "EXT",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_JSON, OPT_END },
		.summary = "show one extension",
		.synopsis = "ext show EXT [--json]",
		.description =
			"Show extension EXT: name, access lists, remote flag, SRTP policy,\n"
			"creation and change times, and its live registrations.\n"
			"Credentials are never shown.\n",
		.examples = "ringfence ext show 1001\nringfence ext show 1001 --json\n",
		.handler = cmd_ext_show,
	},
	{
		.name = "ext passwd",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "EXT",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			{ "--password", "PW", false, "Password chosen by hand ('-' reads it from standard input). Default: generate one." },
			OPT_END,
		},
		.summary = "change the password of an extension",
		.synopsis = "ext passwd EXT [--password PW]",
		.description =
			"Replace the password of extension EXT. Phones registered with the\n"
			"old password fail their next refresh.\n"
			"\n"
			PW_TEXT
			"\n"
			"Recorded as event ext_changed in the security log.\n",
		.examples = "ringfence ext passwd 1001\nringfence ext passwd 1001 --password -  < pwfile\n",
		.handler = cmd_ext_passwd,
	},
	{
		.name = "ext set",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "EXT",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			{ "--name", "NAME", false, "New display name ('' clears it)." },
			OPT_SRTP("New SRTP policy: required, optional or off. A remote extension stays required."),
			OPTS_POLICY,
			OPTS_CAPS("its calls", "ext"),
			OPT_END,
		},
		.summary = "change the name, SRTP policy, calling policy or spending caps of an extension",
		.synopsis = "ext set EXT [--name NAME] [--srtp MODE] [--cos CLASS] [--allow LIST] [--countries LIST]\n"
			    "        [--caller-id NUMBER] [--daily-cap AMOUNT] [--monthly-cap AMOUNT]",
		.description =
			"Change the display name, the SRTP policy, the calling policy or\n"
			"the spending caps of extension EXT; give at least one of the\n"
			"options. Options not given keep their values, and so does\n"
			"everything else (password, access lists, remote flag); the\n"
			"password has its own command, ext passwd. The extension is\n"
			"printed as it is after the change.\n"
			"\n"
			"SRTP: required refuses a call whose SDP has no SRTP (488) and\n"
			"logs it; optional (the default of ext add) encrypts a leg\n"
			"whenever the phone offers or accepts SRTP; off never offers SRTP\n"
			"to the phone. A remote extension is always required: --srtp\n"
			"optional or off is refused for it, because its calls cross\n"
			"networks outside the LAN. The change reaches a running daemon\n"
			"within a second.\n"
			"\n"
			POLICY_TEXT
			"\n"
			CAPS_TEXT
			"\n"
			"An unknown extension or a refused value changes nothing. Each\n"
			"change is recorded as event ext_changed in the security log,\n"
			"with change=name, change=srtp, or the policy fields changed\n"
			"(change=cos,countries or change=daily_cap,monthly_cap).\n",
		.examples =
			"ringfence ext set 1001 --srtp required\n"
			"ringfence ext set 1002 --name \"Meeting room\" --srtp off\n"
			"ringfence ext set 1003 --cos international --countries FR,DE\n"
			"ringfence ext set 1004 --allow directory\n"
			"ringfence ext set 1005 --daily-cap 50 --monthly-cap 400\n"
			"ringfence ext set 1005 --daily-cap default\n",
		.handler = cmd_ext_set,
	},
	{
		.name = "ext del",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "EXT",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			{ "--force", NULL, false, "Also delete the DIDs that ring the extension." },
			OPT_END,
		},
		.summary = "delete an extension and its registrations",
		.synopsis = "ext del EXT [--force]",
		.description =
			"Delete extension EXT with its access lists, registered contacts\n"
			"and account lock, in one transaction. Its call detail records\n"
			"stay: they are history.\n"
			"\n"
			"An extension that DIDs ring is not deleted: the error names the\n"
			"DIDs, so that calls to them are not dropped unnoticed. Point them\n"
			"at another extension first (did del, did add), or give --force\n"
			"to delete them with the extension; the output then names them.\n"
			"\n"
			"Recorded as event ext_removed in the security log, and with\n"
			"--force as one event did_removed per DID.\n",
		.examples = "ringfence ext del 1003\nringfence ext del 1004 --force\n",
		.handler = cmd_ext_del,
	},
	{
		.name = "ext import",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "FILE",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_JSON, OPT_END },
		.summary = "add many extensions from a CSV file, all or nothing",
		.synopsis = "ext import FILE [--json]",
		.description =
			"Add the extensions listed in FILE ('-' reads standard input), one\n"
			"per line in CSV (RFC 4180 quoting), with these columns:\n"
			"\n"
			"    extension,password,name,srtp,cos,allow,countries,caller_id,\n"
			"    daily_cap,monthly_cap\n"
			"\n"
			"    1003,,Front desk\n"
			"    1004,\"S3cure,Pass!word\",\"Smith, J\",required\n"
			"    1005,,,off\n"
			"    1006,,Sales,,international,,\"FR,IE\",01632960006,5,50\n"
			"\n"
			"Only extension and password are needed; a column that is empty or\n"
			"missing takes the default of ext add. An empty password is\n"
			"generated (24 characters, shown once in the output); a given one\n"
			"must pass the same policy as ext add. srtp is required, optional\n"
			"or off as for ext add --srtp. cos, allow, countries, caller_id,\n"
			"daily_cap and monthly_cap take what the options --cos, --allow,\n"
			"--countries, --caller-id, --daily-cap and --monthly-cap of ext add\n"
			"take, checked the same way and refused in the same words, with the\n"
			"column's name; quote a list (\"premium,directory\", \"FR,DE\"). Blank\n"
			"lines, lines starting with '#' and a first line\n"
			"'extension,password,...' are skipped. New extensions get the default\n"
			"access list (the LAN) and are not remote; change them afterwards\n"
			"with ext commands.\n"
			"\n"
			"Every line is checked before anything is written: an invalid\n"
			"extension, one listed twice (named with the line of its first\n"
			"listing) or already present, a refused password, an unknown srtp\n"
			"mode, a refused policy value or a broken line stops the import,\n"
			"and every bad line is reported as FILE:LINE: reason, up to 20 of\n"
			"them. Otherwise all extensions are added in one transaction, each\n"
			"recorded as event ext_added in the security log. Passwords are\n"
			"never repeated in error messages.\n",
		.examples = "ringfence ext import staff.csv\nringfence ext import - < staff.csv\n",
		.handler = cmd_ext_import,
	},
	{
		.name = "ext unlock",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "EXT",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_END },
		.summary = "lift the lock on an extension",
		.synopsis = "ext unlock EXT",
		.description =
			"Lift the lock on extension EXT at once. The guard locks an\n"
			"extension that collects too many failed logins from several\n"
			"addresses (by default 20 failures from 3 or more addresses within\n"
			"an hour lock it for an hour); while it is locked, even the right\n"
			"password is answered like a wrong one, so its own phones cannot\n"
			"register either. Unlock it once the password is known to be safe,\n"
			"or after changing it with 'ringfence ext passwd'.\n"
			"\n"
			"An extension that does not exist, or is not locked (never, or\n"
			"its lock has ended), is an error with exit status 1. The change\n"
			"reaches a running daemon within a second and is recorded as\n"
			"event account_unlocked in the security log. 'ringfence ext\n"
			"locked' lists the locked extensions.\n",
		.examples = "ringfence ext unlock 1001\n",
		.handler = cmd_ext_unlock,
	},
	{
		.name = "ext locked",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_JSON, OPT_END },
		.summary = "list locked extensions",
		.synopsis = "ext locked [--json]",
		.description =
			"List the extensions that are locked now: EXT, UNTIL (ISO 8601,\n"
			"UTC), REMAINING (for example 42m10s), FAILURES (the failed logins\n"
			"counted when it was locked) and SOURCES (how many addresses they\n"
			"came from). A lock on an extension that was deleted since is not\n"
			"shown: it locks nothing. Without locks the table says 'no locked\n"
			"extensions' and --json prints [].\n",
		.examples = "ringfence ext locked\nringfence ext locked --json\n",
		.handler = cmd_ext_locked,
	},
	{
		.name = "ext resume",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "EXT",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_END },
		.summary = "let a suspended extension call outside again",
		.synopsis = "ext resume EXT",
		.description =
			"Lift the suspension of extension EXT. Calling-pattern analysis\n"
			"suspends an extension's outbound calls outside the PBX when it\n"
			"sees a critical anomaly (for example a burst of calls at night),\n"
			"and says why in an alert and in 'ringfence ext show'. While it is\n"
			"suspended the extension can still call other extensions and\n"
			"emergency numbers. Resume it once you know the calls were its\n"
			"owner's, or after changing its password with 'ringfence ext\n"
			"passwd'.\n"
			"\n"
			"An extension that does not exist or is not suspended is an\n"
			"error with exit status 1. The change reaches a running daemon\n"
			"within a second and is recorded as event ext_resumed in the\n"
			"security log.\n",
		.examples = "ringfence ext resume 1001\n",
		.handler = cmd_ext_resume,
	},
	{
		.name = "reg list",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_JSON, OPT_END },
		.summary = "list registered contacts",
		.synopsis = "reg list [--json]",
		.description =
			"List the live registrations: extension, contact URI, source\n"
			"address and port, transport, User-Agent and the seconds until the\n"
			"binding expires. The daemon writes every registration through to\n"
			"the database, so this works from any shell while it runs.\n"
			"Values that came from the network are shown escaped.\n",
		.examples = "ringfence reg list\nringfence reg list --json\n",
		.handler = cmd_reg_list,
	},
	{
		.name = "trunk add",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "NAME",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			{ "--host", "HOST", false, "The provider's DNS name or IP address (required)." },
			{ "--port", "N", false, "Its SIP port, 1 to 65535. Default: SRV records for a name, else 5060 (5061 for tls)." },
			{ "--transport", "T", false, "udp, tcp or tls. Default udp." },
			{ "--register", NULL, false, "Register to the provider with --username and --password." },
			{ "--username", "USER", false, "The account name for registering (with --register)." },
			{ "--password", "PW", false, "The account password (with --register); '-' reads it from standard input." },
			{ "--ip", "CIDR", true, "An address or network the provider sends from, up to 16." },
			{ "--max-calls", "N", false, "Most calls at once, inbound and outbound together: 0 to 10000, 0 for no limit. Default 30." },
			OPTS_CAPS("the calls over it", "trunk"),
			OPT_END,
		},
		.summary = "add a provider trunk",
		.synopsis = "trunk add NAME --host HOST [--port N] [--transport udp|tcp|tls] [--register --username USER --password PW] [--ip CIDR]... [--max-calls N]\n"
			    "        [--daily-cap AMOUNT] [--monthly-cap AMOUNT]",
		.description =
			"Add trunk NAME, a connection to a SIP provider that carries calls to\n"
			"and from the public network. NAME is 1 to 32 letters, digits, '-'\n"
			"and '_'; routes and logs refer to the trunk by it.\n"
			"\n"
			"HOST is a DNS name (sip.example.net, stored in lower case) or an\n"
			"IPv4 or IPv6 address (2001:db8::10, with or without brackets).\n"
			"Give the port with --port, not as HOST:PORT. Without --port a\n"
			"name is looked up in SRV records, and an address is reached on\n"
			"5060 (5061 for tls).\n"
			"\n"
			"A provider recognises us either by address or by an account we\n"
			"register. --register with --username and --password keeps the\n"
			"account; the credentials are refused without --register, since\n"
			"they are used for nothing else. The password is stored because\n"
			"the digest client needs it, in the database only (mode 0600): it\n"
			"is never printed ('trunk show' says set or not set), never logged\n"
			"and never repeated in an error. Give --password - to read it from\n"
			"the first line of standard input, which keeps it out of the\n"
			"process list and the shell history; on a terminal it is asked for\n"
			"with echo off.\n"
			"\n"
			"Calls to the trunk go over --transport to HOST's address (or the\n"
			"addresses a name resolves to, the next one when one does not\n"
			"answer). tcp and tls share the registration's connection; tls\n"
			"verifies the provider's certificate for HOST and sends it as SNI.\n"
			"Until a name has resolved, calls to the trunk are refused with 503.\n"
			"\n"
			"--ip adds an address or network (203.0.113.0/24) the provider's\n"
			"traffic comes from, besides the addresses HOST resolves to; a\n"
			"network with host bits set (203.0.113.7/24) is refused as a\n"
			"likely typo.\n"
			"\n"
			"--max-calls caps the trunk's calls in progress, inbound and\n"
			"outbound together. The default of 30 is a primary-rate line's\n"
			"worth: enough for most sites, and it stops a stolen extension from\n"
			"opening hundreds of paid calls at once. 0 removes the limit.\n"
			"\n"
			TRUNK_CAPS_TEXT
			"\n"
			"Every value is checked before anything is written; a refusal names\n"
			"the option and stores nothing. Recorded as event trunk_added in\n"
			"the security log.\n",
		.examples =
			"ringfence trunk add voipco --host sip.voipco.example --register --username 4420 --password -  < pwfile\n"
			"ringfence trunk add carrier --host 203.0.113.10 --transport tcp --ip 203.0.113.0/24 --max-calls 60\n"
			"ringfence trunk add secure --host sip.example.net --transport tls --port 5061\n"
			"ringfence trunk add prepaid --host 198.51.100.7 --daily-cap 30 --monthly-cap 300\n",
		.handler = cmd_trunk_add,
	},
	{
		.name = "trunk list",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_JSON, OPT_END },
		.summary = "list trunks",
		.synopsis = "trunk list [--json]",
		.description =
			"List every trunk by name: HOST, PORT (0: SRV records, else the\n"
			"transport's default port), TRANSPORT, REGISTER (whether we register\n"
			"to it), USERNAME, PASSWORD (set or not set; the password itself is\n"
			"never shown), IPS (the extra addresses it sends from), MAX-CALLS\n"
			"(0: no limit) and ROUTES (how many outbound routes use it).\n"
			"Without trunks the table says 'no trunks' and --json prints [].\n",
		.examples = "ringfence trunk list\nringfence trunk list --json\n",
		.handler = cmd_trunk_list,
	},
	{
		.name = "trunk show",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.pos_names = "NAME",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_JSON, OPT_END },
		.summary = "show one trunk",
		.synopsis = "trunk show NAME [--json]",
		.description =
			"Show trunk NAME with every field of 'trunk list' and its creation\n"
			"and change times. The password is shown only as set or not set.\n"
			"An unknown trunk is an error with exit status 1.\n",
		.examples = "ringfence trunk show voipco\nringfence trunk show voipco --json\n",
		.handler = cmd_trunk_show,
	},
	{
		.name = "trunk set",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "NAME",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPTS_CAPS("the calls over it", "trunk"), OPT_END },
		.summary = "change the spending caps of a trunk",
		.synopsis = "trunk set NAME [--daily-cap AMOUNT] [--monthly-cap AMOUNT]",
		.description =
			"Change the spending caps of trunk NAME; give at least one of the\n"
			"options. The one not given keeps its value, and so does the rest\n"
			"of the trunk. The trunk is printed as it is after the change.\n"
			"\n"
			TRUNK_CAPS_TEXT
			"\n"
			"An unknown trunk or a refused value changes nothing. Recorded as\n"
			"event trunk_changed in the security log, with the caps changed\n"
			"(change=daily_cap,monthly_cap).\n",
		.examples =
			"ringfence trunk set prepaid --daily-cap 50\n"
			"ringfence trunk set voipco --daily-cap default --monthly-cap default\n",
		.handler = cmd_trunk_set,
	},
	{
		.name = "trunk del",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "NAME",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_END },
		.summary = "delete a trunk",
		.synopsis = "trunk del NAME",
		.description =
			"Delete trunk NAME with its addresses and stored password. A trunk\n"
			"that an outbound route still uses is not deleted: the error lists\n"
			"those routes, to be deleted first with 'ringfence route del', so\n"
			"that no call is routed to a trunk that is gone. Recorded as event\n"
			"trunk_removed in the security log. A running daemon that holds a\n"
			"registration for the trunk un-registers it (REGISTER with\n"
			"Expires: 0) within a few seconds, so the provider stops sending\n"
			"calls to it; the result is logged as trunk_unregistered or\n"
			"trunk_unregistration_failed.\n",
		.examples = "ringfence trunk del carrier\n",
		.handler = cmd_trunk_del,
	},
	{
		.name = "did add",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "NUMBER",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			{ "--ext", "EXT", false, "The extension the number rings (required)." },
			OPT_END,
		},
		.summary = "send calls to a number to an extension",
		.synopsis = "did add NUMBER --ext EXT",
		.description =
			"Deliver calls that arrive from a trunk for NUMBER (a DID, a direct\n"
			"dial-in number) to extension EXT. NUMBER is read with the numbering\n"
			"plan of [numbering] country, in any spelling it accepts (01632\n"
			"960000, +44 1632 960000, 0044 1632 960000), and kept in E.164\n"
			"(+441632960000), as 'did list' shows it. A number the plan refuses\n"
			"is an error with its reason; a short code or an emergency number\n"
			"cannot be a DID. A number goes to one extension; an extension may\n"
			"have many numbers. The extension must exist, and its numbers are\n"
			"deleted with it.\n"
			"\n"
			"Recorded as event did_added in the security log.\n",
		.examples = "ringfence did add +441632960000 --ext 1001\nringfence did add \"01632 960001\" --ext 1002\n",
		.handler = cmd_did_add,
	},
	{
		.name = "did list",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_JSON, OPT_END },
		.summary = "list DIDs",
		.synopsis = "did list [--json]",
		.description =
			"List the DIDs in number order: NUMBER, EXTENSION and CREATED (ISO\n"
			"8601, UTC). Without DIDs the table says 'no DIDs' and --json\n"
			"prints [].\n",
		.examples = "ringfence did list\nringfence did list --json\n",
		.handler = cmd_did_list,
	},
	{
		.name = "did del",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "NUMBER",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_END },
		.summary = "delete a DID",
		.synopsis = "did del NUMBER",
		.description =
			"Stop delivering calls for NUMBER, in any spelling 'did add' takes. An\n"
			"unknown number is an error with exit status 1. Recorded as event\n"
			"did_removed in the security log.\n",
		.examples = "ringfence did del +441632960000\n",
		.handler = cmd_did_del,
	},
	{
		.name = "route add",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.min_pos = 0, .max_pos = 0,
		.opts = {
			{ "--match", "PATTERN", false, "The numbers the route takes, such as 0[1-9]XXXXXXXXX (required)." },
			{ "--trunk", "NAME", false, "The trunk the calls leave by (required)." },
			{ "--strip", "N", false, "Remove the first N characters of the number, 0 to 32. Default 0." },
			{ "--prepend", "P", false, "Then put P (digits, a leading '+' allowed, up to 16) in front. Default none." },
			{ "--pos", "N", false, "Insert at position N, moving the routes from N on down by one. Default: the end." },
			OPT_END,
		},
		.summary = "add an outbound route",
		.synopsis = "route add --match PATTERN --trunk NAME [--strip N] [--prepend P] [--pos N]",
		.description =
			"Add a route to the outbound dial plan: a dialled number that\n"
			"matches PATTERN leaves by trunk NAME, rewritten for the provider.\n"
			"Routes are tried in order, 1 first, and the first match wins; a\n"
			"number no route matches goes nowhere.\n"
			"\n"
			"PATTERN is written against the number as the phone dials it:\n"
			"\n"
			"    0-9     that digit\n"
			"    X       any digit 0-9\n"
			"    Z       any digit 1-9\n"
			"    N       any digit 2-9\n"
			"    [1-5]   one digit of a set: digits and ranges, [135], [1-35-7]\n"
			"    +       a '+', only as the first character\n"
			"    .       at the end: one or more further digits\n"
			"    !       at the end: zero or more further digits\n"
			"\n"
			"So 0[1-9]XXXXXXXXX is an 11-digit UK national number, 00. any\n"
			"number dialled with the international prefix, and +. any number\n"
			"sent in E.164. A pattern that breaks these rules, or can never\n"
			"match (an empty set [], a backwards range [5-1], more than 32\n"
			"characters to dial), is refused with the reason and its position,\n"
			"for example: --match '0[1-9XX': unclosed '[' at 2.\n"
			"\n"
			"The number sent is the dialled one with its first --strip\n"
			"characters removed (a '+' counts as one), then --prepend put in\n"
			"front: --match 0[1-9]XXXXXXXXX --strip 1 --prepend +44 sends\n"
			"01632960000 as +441632960000. A rewrite that would remove more\n"
			"than the shortest matching number, leave nothing, or put digits\n"
			"before a '+' is refused.\n"
			"\n"
			"The trunk must exist, and a pattern may appear once. When the new\n"
			"route can never be used because an earlier one takes all its\n"
			"numbers, or it takes all the numbers of a later one, a note says\n"
			"so. Recorded as event route_added in the security log.\n",
		.examples =
			"ringfence route add --match 999 --trunk voipco\n"
			"ringfence route add --match 0[1-9]XXXXXXXXX --trunk voipco --strip 1 --prepend +44\n"
			"ringfence route add --match 00. --trunk carrier --strip 2 --prepend + --pos 1\n",
		.handler = cmd_route_add,
	},
	{
		.name = "route list",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_JSON, OPT_END },
		.summary = "list the outbound routes in order",
		.synopsis = "route list [--json]",
		.description =
			"List the outbound dial plan in the order it is tried: POS, PATTERN,\n"
			"TRUNK, STRIP and PREPEND. --json adds created (ISO 8601, UTC).\n"
			"Without routes the table says 'no routes: no call leaves by a\n"
			"trunk' and --json prints [].\n",
		.examples = "ringfence route list\nringfence route list --json\n",
		.handler = cmd_route_list,
	},
	{
		.name = "route del",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "POS",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_END },
		.summary = "delete an outbound route",
		.synopsis = "route del POS",
		.description =
			"Delete the route at position POS (as 'route list' shows it); the\n"
			"routes after it move up by one. A position with no route is an\n"
			"error with exit status 1. Recorded as event route_removed in the\n"
			"security log.\n",
		.examples = "ringfence route del 2\n",
		.handler = cmd_route_del,
	},
	{
		.name = "route test",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.pos_names = "NUMBER",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_JSON, OPT_END },
		.summary = "show which route a dialled number takes",
		.synopsis = "route test NUMBER [--json]",
		.description =
			"Run NUMBER, as a phone would dial it (digits, a leading '+'\n"
			"allowed, up to 32), through the dial plan and print the route that\n"
			"takes it: its position, pattern and trunk, and the number sent\n"
			"after --strip and --prepend. Nothing is dialled. When no route\n"
			"matches, the exit status is 1.\n",
		.examples = "ringfence route test 01632960000\nringfence route test 0097212345678 --json\n",
		.handler = cmd_route_test,
	},
	{
		.name = "cdr list",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = {
			{ "--since", "T", false, "Only calls that started at or after T: a date (2026-11-26, midnight UTC), a time (2026-11-26T15:04:05Z, or with an offset such as +01:00) or an age (90s, 15m, 24h, 7d)." },
			{ "--limit", "N", false, "Show only the N most recent of those calls (1 to 1000000)." },
			OPT_JSON,
			OPT_END,
		},
		.summary = "list call detail records",
		.synopsis = "cdr list [--since T] [--limit N] [--json]",
		.description =
			"List the call detail records, oldest first: one row per call\n"
			"attempt, answered or not, written by the daemon when the call\n"
			"ends. The table shows the start time (UTC), caller, callee as\n"
			"dialled, the final status the caller got (200 when answered),\n"
			"the answered duration as H:MM:SS, who hung up, the media packets\n"
			"relayed in both directions, and SRTP: whether both legs used it,\n"
			"then the caller's leg (SRTP-A) and the callee's leg (SRTP-B), so\n"
			"a call bridged between RTP and SRTP shows no, then yes and no.\n"
			"\n"
			"Who hung up is one of caller, callee, cancel (the caller gave up\n"
			"while it rang), timeout (nobody answered), no_media (no RTP\n"
			"within the no-media timeout), max_duration, limit (refused by a\n"
			"call limit) or system.\n"
			"\n"
			"--json prints an array with every field of each record: id,\n"
			"start, answer and end as ISO-8601 UTC strings with milliseconds\n"
			"and as unix milliseconds (start_ms, answer_ms, end_ms; a call\n"
			"never answered has answer \"\" and answer_ms 0), duration and\n"
			"duration_s, caller, callee, call_id, result, hangup, packets\n"
			"(both directions), packets_a and bytes_a (from the caller),\n"
			"packets_b and bytes_b (from the callee), dropped_foreign (packets\n"
			"from other sources, dropped), lost, srtp (true when both legs\n"
			"used SRTP), srtp_a and srtp_b (the caller's and the callee's\n"
			"leg; true or false).\n"
			"Counters are JSON integers up to 2^63-1; readers that use\n"
			"doubles (JavaScript) lose precision above 2^53.\n"
			"\n"
			"Without calls the table is empty: its header and 'no call\n"
			"records'; --json prints []. Values that came from the network\n"
			"(callee, Call-ID) are shown escaped.\n",
		.examples =
			"ringfence cdr list\n"
			"ringfence cdr list --since 24h\n"
			"ringfence cdr list --since 2026-11-26 --limit 20\n"
			"ringfence cdr list --since 2026-11-26T08:00:00+01:00 --json\n",
		.handler = cmd_cdr_list,
	},
	{
		.name = "cdr export",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.min_pos = 0, .max_pos = 0,
		.opts = {
			{ "--csv", NULL, false, "Write CSV (RFC 4180) to standard output. Required: it is the only format so far." },
			{ "--since", "T", false, "Only calls that started at or after T: a date, a time or an age, as for 'cdr list'." },
			OPT_END,
		},
		.summary = "export call detail records as CSV",
		.synopsis = "cdr export --csv [--since T]",
		.description =
			"Write the call detail records, oldest first, as CSV to standard\n"
			"output, for billing or a spreadsheet. The first line names the\n"
			"columns:\n"
			"\n"
			"    id,start,start_ms,answer,answer_ms,end,end_ms,duration_s,\n"
			"    caller,callee,call_id,result,hangup,packets_a,bytes_a,\n"
			"    packets_b,bytes_b,dropped_foreign,lost,srtp,srtp_a,srtp_b,\n"
			"    direction,e164,class,trunk,cost\n"
			"\n"
			"Times are ISO-8601 UTC with milliseconds and unix milliseconds;\n"
			"answer is empty for a call never answered. srtp, srtp_a and\n"
			"srtp_b are yes or no: both legs, the caller's leg, the callee's\n"
			"leg used SRTP. direction is internal, outbound or inbound; e164\n"
			"and class are the dialled number normalised and its class\n"
			"(empty for a call to an extension); trunk is the trunk it used;\n"
			"cost is the rated cost in [credit] currency. New columns are\n"
			"only ever added at the end.\n"
			"Without calls only the header line is written.\n"
			"\n"
			"A field holding a comma, a double quote or a line break is\n"
			"enclosed in double quotes, with its quotes doubled. Caller and\n"
			"callee come from the network, so a value starting with =, +, -,\n"
			"@, TAB or CR is written with a leading single quote ('+4420...)\n"
			"so that a spreadsheet shows it as text instead of running it as\n"
			"a formula. Control characters, which no SIP field should carry,\n"
			"are written as \\xHH like everywhere in the command's output, so\n"
			"each record is exactly one line; lines end in LF.\n",
		.examples =
			"ringfence cdr export --csv > calls.csv\n"
			"ringfence cdr export --csv --since 7d | gzip > last-week.csv.gz\n"
			"ringfence cdr export --csv --since 2026-11-01\n",
		.handler = cmd_cdr_export,
	},
	{
		.name = "blacklist add",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "NUMBER",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			{ "--reason", "TEXT", false, "Why it is listed, shown by 'blacklist list' and logged: up to 200 characters, no control characters. Default: none." },
			OPT_CALLER("Add it to the caller blacklist (inbound calls from NUMBER) instead of the destination blacklist."),
			OPT_END,
		},
		.summary = "add a number or prefix to a blacklist",
		.synopsis = "blacklist add NUMBER [--reason TEXT] [--caller]",
		.description =
			"Add NUMBER, a whole number or the prefix of many, to the\n"
			"destination blacklist, which refuses outbound calls to every\n"
			"number that starts with it. With --caller it goes on the caller\n"
			"blacklist instead, which refuses inbound calls from such numbers.\n"
			"\n"
			NUMBER_TEXT
			"\n"
			"Calls are matched by the longest listed prefix, after the\n"
			"dialled number is normalised the same way, so no spelling of a\n"
			"number slips past its entry. Adding a prefix that is listed\n"
			"already replaces its reason with --reason, and keeps it\n"
			"without. A note says when a shorter prefix on the list covers\n"
			"the new one already. A list holds at most 100,000 entries.\n"
			"\n"
			"Recorded as event blacklist_added in the security log, with the\n"
			"list (dir=dest or dir=caller), the prefix and the reason.\n",
		.examples =
			"ringfence blacklist add 0909 --reason \"premium rate\"\n"
			"ringfence blacklist add +972 --reason \"no business in Israel\"\n"
			"ringfence blacklist add 01632960666 --caller --reason \"nuisance caller\"\n",
		.handler = cmd_blacklist_add,
	},
	{
		.name = "blacklist del",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "NUMBER",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			OPT_CALLER("Delete it from the caller blacklist instead of the destination blacklist."),
			OPT_END,
		},
		.summary = "delete a number or prefix from a blacklist",
		.synopsis = "blacklist del NUMBER [--caller]",
		.description =
			"Delete the entry NUMBER from the destination blacklist, or with\n"
			"--caller from the caller blacklist. NUMBER is normalised as for\n"
			"'blacklist add', so any spelling of the entry finds it. Only that\n"
			"entry goes: longer and shorter prefixes stay listed. An entry\n"
			"that is not on the list is an error with exit status 1.\n"
			"\n"
			"Recorded as event blacklist_removed in the security log.\n",
		.examples =
			"ringfence blacklist del 0909\n"
			"ringfence blacklist del 01632960666 --caller\n",
		.handler = cmd_blacklist_del,
	},
	{
		.name = "blacklist list",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = {
			OPT_CALLER("List the caller blacklist instead of the destination blacklist."),
			OPT_JSON,
			OPT_END,
		},
		.summary = "list a blacklist",
		.synopsis = "blacklist list [--caller] [--json]",
		.description =
			"List the destination blacklist, or with --caller the caller\n"
			"blacklist, in prefix order: PREFIX (E.164, with its '+'),\n"
			"COUNTRY (the ISO 3166 code of its country code; empty while the\n"
			"prefix is too short to tell), REASON (shown escaped: it is free\n"
			"text, perhaps from an imported file) and ADDED (when the prefix\n"
			"was first listed, ISO 8601 UTC).\n"
			"\n"
			"--json prints an array of objects with prefix, country, reason\n"
			"and created. Without entries the table says 'the destination\n"
			"blacklist is empty' and --json prints [].\n",
		.examples = "ringfence blacklist list\nringfence blacklist list --caller --json\n",
		.handler = cmd_blacklist_list,
	},
	{
		.name = "blacklist import",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "FILE",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			OPT_CALLER("Import into the caller blacklist instead of the destination blacklist."),
			{ "--replace", NULL, false, "Make the file the whole list: entries it does not have are removed." },
			OPT_END,
		},
		.summary = "import a blacklist from a CSV file, all or nothing",
		.synopsis = "blacklist import FILE [--caller] [--replace]",
		.description =
			"Import the numbers and prefixes listed in FILE ('-' reads\n"
			"standard input) into the destination blacklist, or with --caller\n"
			"into the caller blacklist. FILE is CSV (RFC 4180 quoting), one\n"
			"entry per line, number and reason:\n"
			"\n"
			"    number,reason\n"
			"    0909,UK premium rate\n"
			"    +8816,\"Satellite, Iridium\"\n"
			"    00 372 5\n"
			"\n"
			"The reason is optional (up to 200 characters). Numbers are\n"
			"normalised as for 'blacklist add'. Blank lines, lines starting\n"
			"with '#' and a first line naming the columns (number or prefix)\n"
			"are skipped; spaces around a field are ignored.\n"
			"\n"
			IMPORT_CHECK_TEXT
			"\n"
			"Otherwise every entry is written in one transaction. Without\n"
			"--replace the file is merged into the list: an entry listed\n"
			"already takes the file's reason, the others are added, and the\n"
			"rest of the list stays. With --replace the file becomes the\n"
			"whole list. A file without entries is refused, --replace or not,\n"
			"so that an empty export cannot wipe a list.\n"
			"\n"
			"A file has at most 100,000 lines and 32 MiB, and a list at most\n"
			"100,000 entries: an import that would make it larger is\n"
			"refused. On a terminal, an import that runs for more than a\n"
			"second shows its progress on standard error. Recorded as event\n"
			"blacklist_imported in the security log, with the number of\n"
			"entries and mode=merge or mode=replace.\n",
		.examples =
			"ringfence blacklist import fraud-prefixes.csv\n"
			"ringfence blacklist import nuisance.csv --caller --replace\n"
			"ringfence blacklist import - < fraud-prefixes.csv\n",
		.handler = cmd_blacklist_import,
	},
	{
		.name = "rates import",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "FILE",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			{ "--replace", NULL, false, "Make the file the whole rate table: prefixes it does not have are removed." },
			OPT_END,
		},
		.summary = "import the rate table from a CSV file, all or nothing",
		.synopsis = "rates import FILE [--replace]",
		.description =
			"Import rates from FILE ('-' reads standard input), CSV (RFC 4180\n"
			"quoting) with four columns:\n"
			"\n"
			"    prefix,price_per_minute,connection_charge,currency\n"
			"    +44,0.0100,0,GBP\n"
			"    07,0.0500,0,GBP\n"
			"    0909,1.53,0.50,GBP\n"
			"    00 972,0.08,0.015,GBP\n"
			"\n"
			"Prefixes are normalised as for 'blacklist add', so 07 is +447.\n"
			"Prices are decimal numbers in units of the currency with at most\n"
			"6 decimal places, kept exactly as whole micro-units (0.000001),\n"
			"never as floating point. A negative price, an exponent (1e-3), a\n"
			"comma for the decimal point, more than 6 decimal places and a\n"
			"price above 1,000,000 are refused. The currency is an ISO 4217\n"
			"code (in any case) and must be [credit] currency, GBP unless\n"
			"configured otherwise: spend is never summed across currencies.\n"
			"Blank lines, lines starting with '#' and a first line naming the\n"
			"columns (prefix first) are skipped; spaces around a field are\n"
			"ignored.\n"
			"\n"
			"A call is rated by the longest prefix its E.164 number starts\n"
			"with: per_minute * seconds / 60, rounded up to the micro-unit,\n"
			"plus the connection charge. 'rates lookup' shows the rate and\n"
			"the cost for one number.\n"
			"\n"
			IMPORT_CHECK_TEXT
			"\n"
			"Otherwise every rate is written in one transaction. Without\n"
			"--replace the file is merged into the table: a prefix in the\n"
			"table already takes the file's prices, the others are added, and\n"
			"the rest of the table stays. With --replace the file becomes the\n"
			"whole table. A file without rates is refused, --replace or not.\n"
			"\n"
			"A file has at most 300,000 lines and 32 MiB, and the table at\n"
			"most 300,000 rates. On a terminal, an import that runs for more\n"
			"than a second shows its progress on standard error. Recorded as\n"
			"event rates_imported in the security log, with the number of\n"
			"rates and mode=merge or mode=replace.\n",
		.examples =
			"ringfence rates import carrier-rates.csv\n"
			"ringfence rates import carrier-rates.csv --replace\n",
		.handler = cmd_rates_import,
	},
	{
		.name = "rates list",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_JSON, OPT_END },
		.summary = "list the rate table",
		.synopsis = "rates list [--json]",
		.description =
			"List the rate table in prefix order: PREFIX (E.164), COUNTRY\n"
			"(the ISO 3166 code of its country code), PER MINUTE and\n"
			"CONNECTION (decimal, 2 to 6 decimal places) and CURRENCY. A note\n"
			"counts the rates in a currency other than [credit] currency (the\n"
			"setting changed after they were imported), which are not used.\n"
			"\n"
			"--json prints an array of objects with prefix, country,\n"
			"per_minute and connection (decimal strings), per_minute_micro and\n"
			"connection_micro (exact integers, micro-units), currency and\n"
			"created (ISO 8601 UTC). Without rates the table says 'the rate\n"
			"table is empty' and --json prints [].\n",
		.examples = "ringfence rates list\nringfence rates list --json\n",
		.handler = cmd_rates_list,
	},
	{
		.name = "rates del",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "PREFIX",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_END },
		.summary = "delete one rate",
		.synopsis = "rates del PREFIX",
		.description =
			"Delete the rate of PREFIX, normalised as for 'blacklist add'.\n"
			"Numbers it covered fall back to the next shorter prefix in the\n"
			"table, if any. A prefix without a rate is an error with exit\n"
			"status 1. Recorded as event rate_removed in the security log.\n",
		.examples = "ringfence rates del 0909\nringfence rates del +972\n",
		.handler = cmd_rates_del,
	},
	{
		.name = "rates lookup",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.pos_names = "NUMBER",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			{ "--duration", "DURATION", false, "The call to price: a number and a unit, 90s, 15m or 2h, at most 24h. Default 1m." },
			OPT_JSON,
			OPT_END,
		},
		.summary = "show how a number is read and what a call to it costs",
		.synopsis = "rates lookup NUMBER [--duration DURATION] [--json]",
		.description =
			"Read NUMBER as a phone's dialled number is read: normalised to\n"
			"E.164 and classified with the numbering plan of [numbering]\n"
			"country (e164, class, country). Then find its rate, the longest\n"
			"prefix in the rate table it starts with, and show the prefix,\n"
			"the price per minute, the connection charge, the currency and\n"
			"the cost of a call of --duration (one minute unless given),\n"
			"rounded up to the micro-unit. Prices are shown as decimals and,\n"
			"with _micro, as exact micro-units.\n"
			"\n"
			"A number without a rate shows rated: no and 'no rate matches\n"
			"+...'. A number the plan cannot read (letters, too long, too\n"
			"short, an unknown country code) is a usage error with the\n"
			"reason and exit status 2.\n",
		.examples =
			"ringfence rates lookup 09098790000\n"
			"ringfence rates lookup 00972501234567 --duration 10m\n"
			"ringfence rates lookup +441632960000 --json\n",
		.handler = cmd_rates_lookup,
	},
	{
		.name = "spend",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_JSON, OPT_END },
		.summary = "show today's and this month's spend against each spending cap",
		.synopsis = "spend [--json]",
		.description =
			"Show what chargeable calls have cost today and this month\n"
			"against each cap that applies: the system, each extension with a\n"
			"cap or with spend, and each trunk (a deleted one while it has\n"
			"spend).\n"
			"Days and months are local calendar days and months (the TZ of\n"
			"the command, which should be the daemon's), and a call counts in\n"
			"full for the day and month in which it started, even if it ran\n"
			"past midnight.\n"
			"\n"
			"The table has SCOPE (system, ext or trunk), NAME, PERIOD (day or\n"
			"month), DATE (2026-11-26 or 2026-11), SPENT, CAP and USED, the\n"
			"percentage of the cap spent, rounded down. CAP is an extension's\n"
			"or trunk's own cap or the default of its kind ([credit]\n"
			"ext_daily_cap, trunk_daily_cap, ...), 'none' where no cap\n"
			"applies (USED '-'). Amounts are in [credit] currency.\n"
			"\n"
			"The spend is that of ended calls, read from their call records\n"
			"(outbound calls only), plus the chargeable calls in progress the\n"
			"running daemon lists in the database, at what they have cost so\n"
			"far: an answered call its connection charge and the minutes\n"
			"since it was answered, a ringing one its connection charge. The\n"
			"daemon rewrites that list as calls start, are answered and end,\n"
			"and at least every 10 seconds; a list older than 30 seconds is\n"
			"left out (a daemon that stopped without clearing it). A note\n"
			"under the table says how many calls in progress are counted. A\n"
			"cap the daemon reached by ending calls may show a little under\n"
			"100%: calls are ended on the last whole second that keeps the\n"
			"spend within the cap.\n"
			"\n"
			"--json prints an array with, for each row: scope, name (\"\" for\n"
			"the system), period, date, since (the period's first second, ISO\n"
			"8601 UTC), spent and cap as decimal text and as micro-units\n"
			"(spent_micro, cap_micro; cap \"none\" and cap_micro 0 without a\n"
			"cap), used, percent (a number), reached (true once spent is at\n"
			"the cap), currency and live_calls (the number of calls in\n"
			"progress counted in the spend, the same in every row).\n",
		.examples = "ringfence spend\nringfence spend --json\n",
		.handler = cmd_spend,
	},
	{
		.name = "ban list",
		.access = ADMIN_READ,
		.needs = NEEDS_STORE,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = {
			{ "--all", NULL, false, "Also list bans that have ended but are still kept for repeat counting." },
			OPT_JSON,
			OPT_END,
		},
		.summary = "list banned addresses",
		.synopsis = "ban list [--all] [--json]",
		.description =
			"List the source addresses that are banned now, in address order:\n"
			"ADDRESS, UNTIL (ISO 8601, UTC), REMAINING (for example 14m30s),\n"
			"LEVEL and REASON. A banned address gets no answer at all.\n"
			"\n"
			"LEVEL is 0 for a first ban and grows by one with each repeat;\n"
			"the guard doubles the length of each repeated ban, up to a day.\n"
			"REASON says what led to it: auth_failures, scan, flood,\n"
			"glitches, manual (ringfence ban add), or the reason given there.\n"
			"\n"
			"A ban that has ended is kept for a while, so that the next ban of\n"
			"the same address lasts longer; --all lists those too, with\n"
			"REMAINING 'expired'. Without bans the table says 'no active\n"
			"bans' and --json prints [].\n",
		.examples = "ringfence ban list\nringfence ban list --all --json\n",
		.handler = cmd_ban_list,
	},
	{
		.name = "ban add",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "ADDR",
		.min_pos = 1, .max_pos = 1,
		.opts = {
			{ "--for", "DURATION", false, "How long: a number and a unit, 90s, 15m, 24h or 7d. Default 24h, at most 365d." },
			{ "--reason", "TEXT", false, "Why, for the log and the list: 1 to 15 characters of a-z, 0-9 and '_'. Default manual." },
			OPT_END,
		},
		.summary = "ban an address",
		.synopsis = "ban add ADDR [--for DURATION] [--reason TEXT]",
		.description =
			"Ban the source address ADDR: from then on it gets no answer at\n"
			"all, whatever it sends, until the ban ends or 'ringfence ban del'\n"
			"lifts it. The running daemon applies it within a second.\n"
			"\n"
			"ADDR is one IPv4 or IPv6 address. A port (203.0.113.5:5060,\n"
			"[2001:db8::1]:5060), a network (203.0.113.0/24), brackets, a\n"
			"zone index (%eth0), the unspecified address and a multicast\n"
			"address are refused. The address is stored in its canonical\n"
			"form: IPv6 as inet_ntop writes it (2001:db8::1), and an\n"
			"IPv4-mapped IPv6 address (::ffff:203.0.113.5) as the plain IPv4\n"
			"address a firewall sees.\n"
			"\n"
			"Banning an address that is banned already replaces the end of its\n"
			"ban and its reason; its LEVEL (the repeat count) stays.\n"
			"\n"
			"An address inside [guard] whitelist is refused with exit status\n"
			"1, since the guard never bans it. With the guard off ([guard]\n"
			"enabled = false) the ban is stored, and a note says that the\n"
			"daemon applies it only once the guard is on.\n"
			"\n"
			"Recorded as event ban_added in the security log, with the\n"
			"address, the end of the ban and the reason.\n",
		.examples =
			"ringfence ban add 203.0.113.5\n"
			"ringfence ban add 2001:db8::66 --for 7d --reason abuse_report\n",
		.handler = cmd_ban_add,
	},
	{
		.name = "ban del",
		.access = ADMIN_WRITE,
		.needs = NEEDS_STORE,
		.pos_names = "ADDR",
		.min_pos = 1, .max_pos = 1,
		.opts = { OPT_END },
		.summary = "lift the ban on an address",
		.synopsis = "ban del ADDR",
		.description =
			"Lift the ban on ADDR at once, whoever set it. The address is\n"
			"forgotten with its repeat count, so a later ban starts again at\n"
			"level 0. ADDR is written as for 'ban add'; an address that has\n"
			"no row in 'ban list --all' is an error with exit status 1.\n"
			"\n"
			"Recorded as event ban_lifted in the security log.\n",
		.examples = "ringfence ban del 203.0.113.5\n",
		.handler = cmd_ban_del,
	},
	{
		.name = "firewall print",
		.access = ADMIN_READ,
		.needs = NEEDS_CONF,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_END },
		.summary = "print an nftables ruleset for this host",
		.synopsis = "firewall print",
		.description =
			"Print a complete nftables ruleset for the host, in nft syntax, made\n"
			"from this instance's configuration: one table (inet ringfence, or\n"
			"the table of [firewall] nft_set) whose input chain drops\n"
			"everything except\n"
			"\n"
			"    loopback, established and related traffic, ICMPv6 neighbour\n"
			"    discovery and rate-limited ping;\n"
			"    SIP on [sip] port over UDP and TCP and TLS on tls_port, as far\n"
			"    as [sip] transports enables them;\n"
			"    the RTP relay range [media] rtp_port_min..rtp_port_max (UDP);\n"
			"    ssh (port 22) from the LAN only: RFC 1918, ULA and [security] lan.\n"
			"\n"
			"Before all of these it drops every source in the banned sets, an\n"
			"IPv4 set (banned) and an IPv6 one (banned6), both with timeouts,\n"
			"with a counter each. With [firewall] nft_set the daemon mirrors\n"
			"every ban into them, so the kernel drops a banned source before\n"
			"Ringfence sees it.\n"
			"\n"
			"Loading the ruleset again replaces the rules and keeps the sets\n"
			"with their elements. Check it first with 'nft -c -f FILE', and keep\n"
			"a console open when loading it on a remote host: ssh from outside\n"
			"the LAN is dropped.\n",
		.examples =
			"ringfence firewall print > /etc/nftables.d/ringfence.nft\n"
			"ringfence firewall print | nft -c -f - && ringfence firewall print | nft -f -\n",
		.handler = cmd_firewall_print,
	},
	{
		.name = "alert test",
		.access = ADMIN_WRITE,
		.needs = NEEDS_CONF,
		.json = true,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_JSON, OPT_END },
		.summary = "send a test alert through each configured channel",
		.synopsis = "alert test [--json]",
		.description =
			"Send one test alert, now, through each channel configured in\n"
			"[alerts]: an email through smtp_url to every address of mail_to,\n"
			"and a JSON POST to webhook_url. Each channel is tried once and\n"
			"reported on a line of its own: CHANNEL, TARGET (where it went,\n"
			"without credentials or the webhook's path) and RESULT, sent or\n"
			"failed.\n"
			"\n"
			"A failure names its cause: connection refused, cannot resolve\n"
			"the host, timed out, TLS failure (the certificate is not trusted,\n"
			"the server does not offer STARTTLS, the CA file cannot be read),\n"
			"authentication failed, or the HTTP status the webhook answered\n"
			"with. Certificates are always verified, against [alerts] ca_file\n"
			"when it is set; smtp:// must offer STARTTLS unless the server is\n"
			"on this machine (a loopback address). A connection gives up after\n"
			"10 seconds and a send after 30.\n"
			"\n"
			"The test does not go through the daemon's queue: it needs no\n"
			"running daemon and leaves nothing queued. Each result is\n"
			"recorded as event alert_sent or alert_failed (kind=test) in the\n"
			"security log; passwords never appear there or in the output.\n"
			"\n"
			"Exit status: 0 when every channel took the alert; 1 when any\n"
			"channel failed, with every failure in the message, or when no\n"
			"channel is configured; 2 for a usage error.\n",
		.examples = "ringfence alert test\nringfence alert test --json\n",
		.handler = cmd_alert_test,
	},
	{
		.name = "check-config",
		.access = ADMIN_READ,
		.needs = NEEDS_CONF,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_END },
		.summary = "validate the configuration and print it, secrets redacted",
		.synopsis = "check-config",
		.description =
			"Read and validate the configuration file. An unknown section or\n"
			"key, or a bad or out-of-range value, is reported as FILE:LINE with\n"
			"the key, and the exit status is 1. When it is valid, print the\n"
			"effective configuration (defaults included) with secrets redacted.\n",
		.examples = "ringfence -c /etc/ringfence/ringfence.conf check-config\n",
		.handler = cmd_check_config,
	},
	{
		.name = "serve",
		.access = ADMIN_LOCAL,
		.needs = NEEDS_CONF,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_END },
		.summary = "run the daemon in the foreground (alias: run)",
		.synopsis = "serve",
		.description =
			"Bind the configured SIP transports, drop to the unprivileged user\n"
			"of [general] user when started as root, and serve until SIGINT or\n"
			"SIGTERM. Changes made with 'ringfence ext' reach the running\n"
			"daemon within a second; no restart is needed. 'run' is an alias.\n",
		.examples = "ringfence -c demo/ringfence.conf serve\n",
		.handler = cmd_serve,
	},
	{
		.name = "version",
		.access = ADMIN_LOCAL,
		.needs = NEEDS_NOTHING,
		.min_pos = 0, .max_pos = 0,
		.opts = { OPT_END },
		.summary = "print the version",
		.synopsis = "version",
		.description = "Print the version of Ringfence and of the libraries it runs on.\n",
		.examples = "ringfence version\n",
		.handler = cmd_version,
	},
	{
		.name = "help",
		.access = ADMIN_LOCAL,
		.needs = NEEDS_NOTHING,
		.pos_names = "[COMMAND]",
		.min_pos = 0, .max_pos = 2,
		.opts = { OPT_END },
		.summary = "show help for ringfence or one command",
		.synopsis = "help [COMMAND]",
		.description = "Without COMMAND, list the commands; with one, show its manual.\n",
		.examples = "ringfence help\nringfence help ext add\n",
		.handler = NULL, /* the CLI prints help itself */
	},
};

const size_t admin_ncmds = sizeof(admin_cmds) / sizeof(admin_cmds[0]);

const struct admin_cmd *admin_cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < admin_ncmds; i++)
		if (strcmp(admin_cmds[i].name, name) == 0)
			return &admin_cmds[i];
	return NULL;
}

int admin_opt_index(const struct admin_cmd *cmd, const char *name)
{
	int i;

	for (i = 0; i < ADMIN_MAX_OPTS && cmd->opts[i].name; i++)
		if (strcmp(cmd->opts[i].name, name) == 0)
			return i;
	return -1;
}

const char *admin_arg(const struct admin_cmd *cmd, const struct admin_args *a,
		      const char *opt)
{
	int i = admin_opt_index(cmd, opt);

	return i >= 0 && a->opt[i].n ? a->opt[i].vals[0] : NULL;
}

bool admin_flag(const struct admin_cmd *cmd, const struct admin_args *a,
		const char *opt)
{
	int i = admin_opt_index(cmd, opt);

	return i >= 0 && a->opt[i].n > 0;
}

unsigned admin_values(const struct admin_cmd *cmd, const struct admin_args *a,
		      const char *opt, const char *const **vals)
{
	int i = admin_opt_index(cmd, opt);

	if (i < 0)
		return 0;
	*vals = a->opt[i].vals;
	return a->opt[i].n;
}

int admin_uint_arg(const struct admin_cmd *cmd, const struct admin_args *a, const char *opt,
		   unsigned min, unsigned max, unsigned *out, struct admin_reply *r)
{
	const char *v = admin_arg(cmd, a, opt);
	char why[160];

	if (v && admin_parse_uint(opt, v, min, max, out, why, sizeof(why)) != 0)
		return admin_reply_error(r, ADMIN_USAGE, "%s", why);
	return ADMIN_OK;
}

int admin_numplan_load(struct admin_ctx *ctx, struct numplan **np, struct admin_reply *r)
{
	const char *err = NULL;

	if (numplan_alloc(np, ctx->conf->numbering_country, &err) == 0)
		return ADMIN_OK;
	return admin_reply_error(r, ADMIN_FAILED, "cannot load the numbering plan %s: %s",
				 ctx->conf->numbering_country, err ? err : "unknown error");
}

bool admin_ext_valid(const char *ext, char *why, size_t whylen)
{
	size_t i, n = strlen(ext);

	if (n == 0) {
		snprintf(why, whylen, "extension is empty");
		return false;
	}
	if (n > RF_MAX_EXT_LEN) {
		snprintf(why, whylen, "extension is too long: %zu > %u characters",
			 n, RF_MAX_EXT_LEN);
		return false;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)ext[i];

		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-')
			continue;
		if (c == ' ')
			snprintf(why, whylen, "extension contains a space at position %zu: "
				 "allowed are digits, letters, '_', '.' and '-'", i + 1);
		else if (c > 0x20 && c < 0x7f)
			snprintf(why, whylen, "extension contains '%c' at position %zu: "
				 "allowed are digits, letters, '_', '.' and '-'", c, i + 1);
		else
			snprintf(why, whylen, "extension contains byte 0x%02x at position %zu: "
				 "allowed are digits, letters, '_', '.' and '-'", c, i + 1);
		return false;
	}
	return true;
}

/* ---- help ---- */

static void indented(FILE *out, const char *text, const char *indent)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (nl > p)
			fprintf(out, "%s%.*s\n", indent, (int)(nl - p), p);
		else
			fputc('\n', out);
		p = *nl ? nl + 1 : nl;
	}
}

static const char exit_status_text[] =
	"0  success\n"
	"1  the operation failed: for example the extension exists or does not\n"
	"   exist, a password was refused, the configuration is invalid, or a\n"
	"   file could not be written. Nothing was changed.\n"
	"2  usage error: unknown command or option, missing or extra argument,\n"
	"   or a malformed value. Nothing was changed.\n";

void admin_help_cmd(const struct admin_cmd *cmd, FILE *out)
{
	int i;

	fprintf(out, "NAME\n    ringfence %s - %s\n\n", cmd->name, cmd->summary);
	fprintf(out, "SYNOPSIS\n    ringfence [-c CONF] %s\n\n", cmd->synopsis);
	fputs("DESCRIPTION\n", out);
	indented(out, cmd->description, "    ");
	fputs("\nOPTIONS\n", out);
	for (i = 0; i < ADMIN_MAX_OPTS && cmd->opts[i].name; i++) {
		fprintf(out, "    %s%s%s%s\n", cmd->opts[i].name,
			cmd->opts[i].arg ? " " : "",
			cmd->opts[i].arg ? cmd->opts[i].arg : "",
			cmd->opts[i].repeat ? " (repeatable)" : "");
		fprintf(out, "        %s\n", cmd->opts[i].help);
	}
	fputs("    -c CONF\n        Configuration file (before the command); "
	      "default $RINGFENCE_CONF, else ./ringfence.conf.\n", out);
	fputs("    -h, --help\n        Show this help and exit.\n", out);
	fputs("\nEXAMPLES\n", out);
	indented(out, cmd->examples, "    ");
	fputs("\nEXIT STATUS\n", out);
	indented(out, exit_status_text, "    ");
}

bool admin_help_group(const char *group, FILE *out)
{
	size_t i, glen = strlen(group);
	bool any = false;

	for (i = 0; i < admin_ncmds; i++) {
		const char *n = admin_cmds[i].name;

		if (strncmp(n, group, glen) != 0 || n[glen] != ' ')
			continue;
		if (!any)
			fprintf(out, "SYNOPSIS\n");
		any = true;
		fprintf(out, "    ringfence [-c CONF] %s\n", admin_cmds[i].synopsis);
	}
	if (!any)
		return false;
	fputs("\nCOMMANDS\n", out);
	for (i = 0; i < admin_ncmds; i++) {
		const char *n = admin_cmds[i].name;

		if (strncmp(n, group, glen) == 0 && n[glen] == ' ')
			fprintf(out, "    %-14s %s\n", n, admin_cmds[i].summary);
	}
	fprintf(out, "\nRun 'ringfence %s COMMAND --help' for the manual of one command.\n", group);
	return true;
}

void admin_help_main(FILE *out)
{
	size_t i;

	fputs("NAME\n    ringfence - secure-by-default SIP PBX\n\n"
	      "SYNOPSIS\n    ringfence [-c CONF] COMMAND [ARGS...]\n"
	      "    ringfence COMMAND --help\n\n"
	      "DESCRIPTION\n"
	      "    Ringfence is a SIP registrar and PBX that is safe as installed: every\n"
	      "    extension has a strong password, access is limited to the LAN unless\n"
	      "    granted, and every security event is logged for Fail2Ban.\n"
	      "    One binary holds the daemon (serve) and its administration.\n\n"
	      "COMMANDS\n", out);
	for (i = 0; i < admin_ncmds; i++)
		fprintf(out, "    %-14s %s\n", admin_cmds[i].name, admin_cmds[i].summary);
	fputs("\nOPTIONS\n"
	      "    -c CONF, --config CONF\n"
	      "        The instance's configuration file. Without it, $RINGFENCE_CONF,\n"
	      "        else ./ringfence.conf.\n"
	      "    -h, --help\n        Show this help and exit.\n"
	      "    --version\n        Print the version and exit.\n"
	      "\nENVIRONMENT\n"
	      "    RINGFENCE_CONF\n        Configuration file used when -c is not given.\n"
	      "\nEXAMPLES\n"
	      "    ringfence init --dir demo\n"
	      "    ringfence -c demo/ringfence.conf serve\n"
	      "    RINGFENCE_CONF=demo/ringfence.conf ringfence ext add 1003\n"
	      "    ringfence -c demo/ringfence.conf reg list\n"
	      "\nEXIT STATUS\n", out);
	indented(out, exit_status_text, "    ");
	fputs("\nRun 'ringfence COMMAND --help' for the manual of one command.\n", out);
}
