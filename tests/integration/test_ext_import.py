"""ringfence ext import: all or nothing, every bad line named, secrets shown once."""
import json
import os
import re
import sqlite3

from sipua import bindings_of, mkua  # noqa: F401  (fixture)


def write(inst, name, text):
    path = os.path.join(inst.dir, "..", name)
    with open(path, "w") as f:
        f.write(text)
    return path


def extensions(inst):
    return {e["ext"] for e in json.loads(inst.cli("ext", "list", "--json").stdout)}


def test_import_adds_all_and_shows_generated_passwords_once(instance):
    path = write(instance, "ok.csv", "extension,password,name\n"
                 "2001,,Front desk\n"
                 '2002,"Gr33n,Tea!Pot9","Smith, J"\n'
                 "# a comment\n\n"
                 "2003,,\n")
    out = instance.cli("ext", "import", path).stdout
    generated = dict(re.findall(r"^(200[13])\s+(\S+)\s*$", out, re.M))
    assert set(generated) == {"2001", "2003"}, out
    assert "Gr33n,Tea!Pot9" not in out
    assert "3 extensions imported" in out
    assert {"2001", "2002", "2003"} <= extensions(instance)
    shown = json.loads(instance.cli("ext", "show", "2002", "--json").stdout)
    assert shown["name"] == "Smith, J"
    # Only digests are stored: no password, generated or given, is in the database.
    with open(os.path.join(instance.dir, "ringfence.db"), "rb") as f:
        db = f.read()
    for pw in list(generated.values()) + ["Gr33n,Tea!Pot9"]:
        assert pw.encode() not in db
    assert len(instance.security_events("ext_added")) == 2 + 3  # demo pair + import


def test_bad_file_imports_nothing_and_names_every_bad_line(instance):
    path = write(instance, "bad.csv", "2001,,A\n"
                 "2001,,B\n"
                 "1001,,C\n"
                 "abc def,,\n"
                 "2004,Password123!,\n"
                 '2005,"unterminated\n'
                 "2006,a,b,c,d,e,f,g,h,i,j\n"
                 "2007,Sh0rt!,\n")
    p = instance.cli("ext", "import", path, check=False)
    assert p.returncode == 1
    err = p.stderr
    assert "7 bad lines" in err and "nothing was imported" in err, err
    for line, reason in [(2, "listed twice"), (3, "already exists"), (4, "space"),
                         (5, "dictionary word"), (6, "unterminated quoted field"),
                         (7, "too many fields"), (8, "too short")]:
        assert re.search(rf"bad.csv:{line}: .*{reason}", err), (line, err)
    assert "Password123!" not in err and "Sh0rt!" not in err, "a password was echoed"
    assert extensions(instance) == {"1001", "1002"}


def test_nul_byte_and_missing_file_are_refused(instance):
    path = write(instance, "nul.csv", "2001,,A\n2002\0,,B\n")
    p = instance.cli("ext", "import", path, check=False)
    assert p.returncode == 1 and "nul.csv:2: NUL byte" in p.stderr, p.stderr
    p = instance.cli("ext", "import", "/nonexistent/x.csv", check=False)
    assert p.returncode == 1 and "cannot open /nonexistent/x.csv" in p.stderr
    p = instance.cli("ext", "import", check=False)
    assert p.returncode == 2
    assert extensions(instance) == {"1001", "1002"}


def test_imported_extension_registers_on_the_running_daemon(instance, mkua):
    pbx = instance.start()
    path = write(instance, "one.csv", "2001,Gr33n!Tea.Pot9,Desk\n")
    instance.cli("ext", "import", "-", input=open(path).read())
    # The daemon sees directory changes within a second.
    for _ in range(20):
        ua = mkua(pbx, "2001", password="Gr33n!Tea.Pot9")
        _, ok = ua.register()
        if ok.status == 200:
            break
        import time
        time.sleep(0.1)
    assert ok.status == 200, ok.raw
    assert bindings_of(pbx, "2001")
