#!/usr/bin/python3
"""Cross-check data/numplan/ against libphonenumber's data (Debian package
python3-phonenumbers), as a second opinion when the tables are updated.

    apt-get install python3-phonenumbers
    scripts/numplan-crosscheck.py

Prints one line per difference and exits 0: a difference is a place to look,
not a verdict. Some are deliberate and listed in docs/numbering.md (123 is
premium here, 055 is service, +44 is GB whatever its Crown Dependency).
"""
import csv
import os
import sys

import phonenumbers
from phonenumbers import PhoneNumberType as T
from phonenumbers import shortnumberinfo

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# Our class and the libphonenumber types that agree with it.
AGREE = {
    "geographic": {T.FIXED_LINE, T.FIXED_LINE_OR_MOBILE},
    "nongeographic": {T.UAN, T.VOIP},
    "mobile": {T.MOBILE, T.FIXED_LINE_OR_MOBILE},
    "freephone": {T.TOLL_FREE},
    "service": {T.PREMIUM_RATE, T.SHARED_COST},
    "premium": {T.PREMIUM_RATE},
    "personal": {T.PERSONAL_NUMBER, T.PAGER},
}


def rows(name, header):
    path = os.path.join(ROOT, "data", "numplan", name)
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f if l.strip() and not l.startswith("#")]
    assert lines[0].rstrip("\r\n") == header, f"{name}: unexpected header"
    n = header.count(",")
    return [l.rstrip("\r\n").split(",", n) for l in lines[1:]]


def sample_type(prefix, nsn_len):
    """The type libphonenumber gives the first sample under prefix it knows."""
    nsn = prefix[1:]
    for fill in "0123456789":
        n = phonenumbers.parse("+44" + nsn + fill * (nsn_len - len(nsn)))
        t = phonenumbers.number_type(n)
        if t != T.UNKNOWN:
            return t
    return T.UNKNOWN


def check_short_code(prefix, cls, length):
    sample = prefix + "0" * (length - len(prefix))
    emergency = shortnumberinfo.is_emergency_number(sample, "GB")
    valid = shortnumberinfo.is_valid_short_number_for_region(
        phonenumbers.parse(sample, "GB"), "GB")
    if (cls == "emergency") != emergency or not valid:
        print(f"gb.csv {prefix}: {cls}; libphonenumber: {sample} emergency={emergency} "
              f"valid short code={valid}")


def check_ranges():
    for prefix, cls, lo, hi, _ in rows("gb.csv", "prefix,class,min_nsn_len,max_nsn_len,comment"):
        if not prefix.startswith("0"):
            check_short_code(prefix, cls, int(hi))
            continue
        for length in range(int(lo), int(hi) + 1):
            t = sample_type(prefix, length)
            if t not in AGREE.get(cls, set()):
                print(f"gb.csv {prefix} ({length} digits): {cls}; libphonenumber: "
                      f"{phonenumbers.PhoneNumberType.to_string(t)}")


def check_codes():
    ours = {}
    for cc, area, iso2, name in rows("country-codes.csv", "cc,area,iso2,name"):
        ours[(int(cc), area)] = iso2
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(cc))
        if regions is None:
            print(f"country-codes.csv +{cc}: not in libphonenumber ({name})")
        elif area == "" and (iso2 or "001") != regions[0]:
            print(f"country-codes.csv +{cc}: {iso2 or 'no country'}; libphonenumber: {regions[0]}")
        elif area and iso2 not in regions:
            print(f"country-codes.csv +{cc} {area}: {iso2}; libphonenumber: {','.join(regions)}")
    for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        if (cc, "") not in ours:
            print(f"libphonenumber +{cc}: missing from country-codes.csv")


def main():
    print(f"libphonenumber {phonenumbers.__version__}")
    check_ranges()
    check_codes()
    return 0


if __name__ == "__main__":
    sys.exit(main())
