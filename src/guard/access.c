#include "guard/access.h"

static bool acl_list_matches(const struct acl_cidr *list, unsigned n,
			     const struct sockaddr *src)
{
	for (unsigned i = 0; i < n; i++) {
		if (acl_cidr_match(&list[i], src))
			return true;
	}
	return false;
}

enum access_verdict access_check(const struct acl *acl, bool remote,
				 const struct sockaddr *src,
				 enum sip_transport tp,
				 const struct acl_cidr *lan, unsigned nlan)
{
	if (acl_list_matches(acl->deny, acl->ndeny, src))
		return ACCESS_DENY_ACL;
	if (acl->npermit > 0 && !acl_list_matches(acl->permit, acl->npermit, src))
		return ACCESS_DENY_ACL;
	if (acl_is_lan(src, lan, nlan))
		return ACCESS_OK;
	if (!remote)
		return ACCESS_DENY_NOT_LAN;
	if (tp != SIP_TP_TLS)
		return ACCESS_DENY_NEEDS_TLS;
	return ACCESS_OK;
}

const char *access_reason(enum access_verdict v)
{
	switch (v) {
	case ACCESS_OK:
		return "ok";
	case ACCESS_DENY_ACL:
		return "acl";
	case ACCESS_DENY_NOT_LAN:
		return "not_lan";
	case ACCESS_DENY_NEEDS_TLS:
		return "remote_needs_tls";
	}
	return "acl";
}
