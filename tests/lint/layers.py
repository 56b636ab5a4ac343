#!/usr/bin/env python3
"""Layer lint (docs/conventions.md, "Layout").

libiort's sources live in runtime/src/<layer>/, lowest layer first:

    base < reclamation < queues < sync < sched < io < actor

A file may include headers of its own layer and of lower layers, never of a higher one. Public
headers stay flat in runtime/include/iort/; PUBLIC below gives each its layer. The umbrella
<iort/iort.h> includes every public header and sits above all layers: no libiort file includes it.

Fails when
  - a file in runtime/src or runtime/include/iort includes a header of a higher layer (public
    <iort/x.h> or a "<module>-private.h" beside another layer's sources);
  - a source under runtime/src is in no known layer folder (or directly in runtime/src);
  - a public header has no layer here, or a layer named here has no header any more;
  - a quoted include names a file found in no layer (a private header must be in one);
  - two layers hold a private header of the same name (bare-name includes would be ambiguous);
  - the umbrella misses a public header.
The script first lints a few known-bad trees and fails if it does not catch each of them, so it
cannot pass vacuously.
"""
import os
import re
import sys
import tempfile

LAYERS = ["base", "reclamation", "queues", "sync", "sched", "io", "actor"]
UMBRELLA = "iort.h"
# Every public header and its layer. A new header needs a line here (the lint says so).
PUBLIC = {
    "compiler.h": "base",
    "clock.h": "base",
    "config.h": "base",
    "ebr.h": "reclamation",
    "spsc.h": "queues",
    "mpmc.h": "queues",
    "mpsc.h": "queues",
    "segq.h": "queues",
    "wait.h": "sync",
    "chan.h": "sync",
    "lockdep.h": "sync",
    "mutex.h": "sync",
    "cancel.h": "sync",
    "pool.h": "sched",
    "scope.h": "sched",
    "retry.h": "sched",
    "timer.h": "io",
    "reactor.h": "io",
    "async.h": "io",
    "actor.h": "actor",
    UMBRELLA: "umbrella",
}
SOURCE_EXT = (".c", ".h", ".cc", ".S", ".s")
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]', re.M)


def rank(layer):
    return len(LAYERS) if layer == "umbrella" else LAYERS.index(layer)


def strip_comments(text):
    # Keep the newlines so line numbers stay right.
    return COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def lint_tree(root, public):
    """Return (errors, files checked, includes checked)."""
    errors = []
    src = os.path.join(root, "runtime", "src")
    inc = os.path.join(root, "runtime", "include", "iort")
    rel = lambda p: os.path.relpath(p, root)
    files = {}  # path -> layer

    if not os.path.isdir(src):
        return [f"{rel(src)}: missing"], 0, 0
    for dirpath, dirnames, names in os.walk(src):
        dirnames.sort()
        for n in sorted(names):
            if not n.endswith(SOURCE_EXT):
                continue
            path = os.path.join(dirpath, n)
            parts = os.path.relpath(path, src).split(os.sep)
            if len(parts) < 2 or parts[0] not in LAYERS:
                errors.append(f"{rel(path)}: in no layer folder (runtime/src/<layer>/, layers: "
                              f"{', '.join(LAYERS)})")
                continue
            files[path] = parts[0]

    private = {}  # header name -> path
    for path, layer in files.items():
        n = os.path.basename(path)
        if n.endswith(".h"):
            if n in private:
                errors.append(f"{rel(path)}: a header of this name is also in {rel(private[n])}: "
                              f"bare-name includes would be ambiguous")
            else:
                private[n] = path

    # A generated public header (<iort/config.h>) is in the source tree as its template, x.h.in.
    headers = sorted(n[:-3] if n.endswith(".h.in") else n for n in os.listdir(inc)
                     if n.endswith((".h", ".h.in"))) if os.path.isdir(inc) else []
    for n in headers:
        if n not in public:
            errors.append(f"{rel(os.path.join(inc, n))}: public header in no layer: map it in "
                          f"PUBLIC in tests/lint/layers.py")
        else:
            path = os.path.join(inc, n)
            files[path if os.path.exists(path) else path + ".in"] = public[n]
    for n in sorted(set(public) - set(headers)):
        errors.append(f"tests/lint/layers.py: PUBLIC names {n}, which is not in {rel(inc)}")

    def resolve(path, quote, name):
        """The included file's (layer, shown name), None for a system header, or an error."""
        if name.startswith("iort/"):
            n = name[len("iort/"):]
            if n not in public:
                return f"includes <{name}>, a public header in no layer"
            return public[n], f"<{name}>"
        if quote == "<":
            return None
        here = os.path.normpath(os.path.join(os.path.dirname(path), name))
        if here in files:
            return files[here], rel(here)
        if os.path.basename(name) == name and name in private:
            return files[private[name]], rel(private[name])
        return f'includes "{name}", which is in no layer folder'

    nincludes = 0
    for path, layer in sorted(files.items()):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = strip_comments(f.read())
        included = set()
        for m in INCLUDE.finditer(text):
            nincludes += 1
            where = f"{rel(path)}:{text.count(chr(10), 0, m.start()) + 1}"
            r = resolve(path, m.group(1), m.group(2).strip())
            if r is None:
                continue
            if isinstance(r, str):
                errors.append(f"{where}: {r}")
                continue
            to, shown = r
            included.add(shown)
            if rank(to) > rank(layer):
                errors.append(f"{where}: {layer} includes {shown} of the higher layer {to} "
                              f"(order: {' < '.join(LAYERS)})")
        if os.path.basename(path) == UMBRELLA and os.path.dirname(path) == inc:
            missing = [n for n in headers if n != UMBRELLA and f"<iort/{n}>" not in included]
            if missing:
                errors.append(f"{rel(path)}: the umbrella misses {', '.join(missing)}")
    return errors, len(files), nincludes


def write(root, files):
    for name, text in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


SELF_PUBLIC = {"a.h": "base", "q.h": "queues", UMBRELLA: "umbrella"}
SELF_GOOD = {
    "runtime/include/iort/a.h": "/* <iort/q.h> in a comment is no include */\n",
    "runtime/include/iort/q.h": "#include <iort/a.h>\n",
    "runtime/include/iort/iort.h": "#include <iort/a.h>\n#include <iort/q.h>\n",
    "runtime/src/base/a.c": '#include <stdio.h>\n#include <iort/a.h>\n#include "a-private.h"\n',
    "runtime/src/base/a-private.h": "#include <iort/a.h>\n",
    "runtime/src/queues/q.c": '#include <iort/q.h>\n#include "a-private.h"\n#include "q-private.h"\n'
    '#include "../base/a-private.h"\n',
    "runtime/src/queues/q-private.h": "",
}
# Each known-bad tree: the change to the good one, and what the error must say.
SELF_BAD = {
    "private-upward": ({"runtime/src/base/a.c": '#include "q-private.h"\n'}, "of the higher layer"),
    "relative-upward": ({"runtime/src/base/a.c": '#include "../queues/q-private.h"\n'},
                        "of the higher layer"),
    "public-upward": ({"runtime/src/base/a.c": "#include <iort/q.h>\n"}, "of the higher layer"),
    "public-header-upward": ({"runtime/include/iort/a.h": "#  include <iort/q.h>\n"},
                             "of the higher layer"),
    "private-header-upward": ({"runtime/src/base/a-private.h": '#include "q-private.h"\n'},
                              "of the higher layer"),
    "umbrella-inside": ({"runtime/src/queues/q.c": "#include <iort/iort.h>\n"},
                        "of the higher layer umbrella"),
    "no-layer-folder": ({"runtime/src/misc/m.c": ""}, "in no layer folder"),
    "src-top-level": ({"runtime/src/m.c": ""}, "in no layer folder"),
    "unmapped-public": ({"runtime/include/iort/new.h": ""}, "public header in no layer"),
    "unknown-public": ({"runtime/src/queues/q.c": "#include <iort/new.h>\n"},
                       "a public header in no layer"),
    "private-nowhere": ({"runtime/src/queues/q.c": '#include "gone-private.h"\n'},
                        "which is in no layer folder"),
    "same-name-twice": ({"runtime/src/queues/a-private.h": ""}, "would be ambiguous"),
    "umbrella-incomplete": ({"runtime/include/iort/iort.h": "#include <iort/a.h>\n"},
                            "the umbrella misses q.h"),
}


def self_test():
    failures = []
    with tempfile.TemporaryDirectory(prefix="iort-layers-") as tmp:
        good = os.path.join(tmp, "good")
        write(good, SELF_GOOD)
        errs, _, _ = lint_tree(good, SELF_PUBLIC)
        if errs:
            failures.append("self-test: the known-good tree failed: " + "; ".join(errs))
        for label, (change, want) in SELF_BAD.items():
            bad = os.path.join(tmp, label)
            write(bad, {**SELF_GOOD, **change})
            errs, _, _ = lint_tree(bad, SELF_PUBLIC)
            if not any(want in e for e in errs):
                failures.append(f"self-test: the known-bad tree '{label}' gave no '{want}' "
                                f"error (got: {'; '.join(errs) or 'none'})")
    return failures


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("IOBENCH_SOURCE_ROOT", ".")
    failures = self_test()
    if failures:
        print("\n".join(failures))
        return 1
    errors, nfiles, nincludes = lint_tree(root, PUBLIC)
    for e in errors:
        print(e)
    print(f"checked {nfiles} files and {nincludes} includes against the layers "
          f"{' < '.join(LAYERS)}: {len(errors)} problems")
    return 1 if errors or nfiles == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
