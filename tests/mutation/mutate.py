#!/usr/bin/env python3
"""Mutation testing for libiort's primitives: apply each listed mutant to a scratch copy of the
source tree, rebuild, run the tests that should catch it, and report killed and survived.

Mutants live in tests/mutation/<module>.json, a list of objects:
  id        short unique name, e.g. "wait-no-passon"
  file      path from the source root
  find      exact text, which must occur exactly once in the file
  replace   the mutated text
  tests     meson test names that should fail with the mutant in place
  build     "plain" (default), "thread" (TSan) or "address" (ASan)
  why       what the mutant breaks
  x86       (optional) why x86 cannot show the broken ordering: a survivor then is expected

Usage: mutate.py SOURCE_ROOT [--only REGEX] [--list] [--work DIR] [--keep]
Exit status: 0 when every mutant without an "x86" reason is killed, 1 otherwise, 2 bad input.
Run it through meson: `ninja -C build mutate` (not part of CI: it rebuilds once per mutant).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BUILD_OPTS = {
    "plain": [],
    "thread": ["-Db_sanitize=thread", "-Db_lundef=false"],
    "address": ["-Db_sanitize=address", "-Db_lundef=false"],
}
KEYS = {"id", "file", "find", "replace", "tests", "build", "why", "x86"}


def die(msg):
    print(f"mutate: {msg}", file=sys.stderr)
    sys.exit(2)


def load_mutants(root):
    folder = os.path.join(root, "tests", "mutation")
    mutants, seen = [], set()
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(folder, name)
        try:
            with open(path) as f:
                items = json.load(f)
        except (OSError, ValueError) as e:
            die(f"{path}: {e}")
        if not isinstance(items, list):
            die(f"{path}: expected a list of mutants")
        for i, m in enumerate(items):
            where = f"{path}: mutant {i}"
            if not isinstance(m, dict):
                die(f"{where}: not an object")
            extra = set(m) - KEYS
            if extra:
                die(f"{where}: unknown key '{sorted(extra)[0]}'")
            for k in ("id", "file", "find", "why"):
                if not isinstance(m.get(k), str) or not m[k]:
                    die(f"{where}: '{k}' must be a non-empty string")
            if not isinstance(m.get("replace"), str) or m["replace"] == m["find"]:
                die(f"{where}: 'replace' must be a string (empty deletes) other than 'find'")
            if not isinstance(m.get("tests"), list) or not m["tests"] or \
                    not all(isinstance(t, str) for t in m["tests"]):
                die(f"{where}: 'tests' must be a non-empty list of test names")
            m.setdefault("build", "plain")
            if m["build"] not in BUILD_OPTS:
                die(f"{where}: 'build' must be one of {', '.join(BUILD_OPTS)}")
            if m["id"] in seen:
                die(f"{where}: duplicate id '{m['id']}'")
            seen.add(m["id"])
            m["source"] = name
            mutants.append(m)
    return mutants


def copy_tree(root, dest):
    files = subprocess.run(["git", "-C", root, "ls-files", "-co", "--exclude-standard"],
                           check=True, capture_output=True, text=True).stdout.splitlines()
    for rel in files:
        src = os.path.join(root, rel)
        if not os.path.isfile(src):
            continue
        dst = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)


def run(cmd, log, timeout=None):
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        try:
            return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            f.write("mutate: timed out\n")
            return 124


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--only", help="run the mutants whose id matches this regex")
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    ap.add_argument("--work", help="scratch folder (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    a = ap.parse_args()

    mutants = load_mutants(a.root)
    if a.only:
        try:
            rx = re.compile(a.only)
        except re.error as e:
            die(f"--only: bad regex: {e}")
        mutants = [m for m in mutants if rx.search(m["id"])]
    for m in mutants:
        with open(os.path.join(a.root, m["file"])) as f:
            n = f.read().count(m["find"])
        if n != 1:
            die(f"{m['source']}: mutant '{m['id']}': its 'find' text occurs {n} times in "
                f"{m['file']} (must be once): update the mutant with the code")
    if a.list:
        for m in mutants:
            note = f"  [x86 cannot show: {m['x86']}]" if "x86" in m else ""
            print(f"{m['id']:32} {m['build']:8} {m['file']}: {m['why']}{note}")
        return 0
    if not mutants:
        die("no mutants selected")

    work = a.work or tempfile.mkdtemp(prefix="iobench-mutate-")
    src = os.path.join(work, "src")
    log = os.path.join(work, "mutate.log")
    print(f"mutate: scratch copy and logs in {work}")
    shutil.rmtree(src, ignore_errors=True)
    copy_tree(a.root, src)
    builds = {}
    for kind in sorted({m["build"] for m in mutants}):
        bdir = os.path.join(work, f"build-{kind}")
        if not os.path.exists(os.path.join(bdir, "build.ninja")):
            if run(["meson", "setup", bdir, src] + BUILD_OPTS[kind], log) != 0:
                die(f"meson setup of the {kind} build failed (see {log})")
        if run(["ninja", "-C", bdir], log) != 0:
            die(f"the unmutated {kind} build fails (see {log})")
        builds[kind] = bdir

    counts = {"killed": 0, "survived": 0, "expected": 0, "stillborn": 0}
    for m in mutants:
        path = os.path.join(src, m["file"])
        with open(path) as f:
            orig = f.read()
        with open(path, "w") as f:
            f.write(orig.replace(m["find"], m["replace"], 1))
        t0 = time.monotonic()
        try:
            if run(["ninja", "-C", builds[m["build"]]], log) != 0:
                verdict = "stillborn"
            else:
                rc = run(["meson", "test", "-C", builds[m["build"]], "--no-rebuild",
                          "--print-errorlogs"] + m["tests"], log, timeout=1800)
                if rc != 0:
                    verdict = "killed"
                elif "x86" in m:
                    verdict = "expected"
                else:
                    verdict = "survived"
        finally:
            with open(path, "w") as f:
                f.write(orig)
        counts[verdict] += 1
        label = {"killed": "killed", "survived": "SURVIVED", "stillborn": "STILLBORN",
                 "expected": "survived (x86 cannot show it)"}[verdict]
        extra = f": {m['x86']}" if verdict == "expected" else ""
        print(f"{label:30} {m['id']:32} {time.monotonic() - t0:6.1f} s  "
              f"[{', '.join(m['tests'])}]{extra}", flush=True)
    # Leave the builds matching the unmutated tree for the next run with --work.
    for bdir in builds.values():
        run(["ninja", "-C", bdir], log)
    print(f"mutate: {counts['killed']} killed, {counts['survived']} survived, "
          f"{counts['expected']} survived where x86 cannot show the ordering, "
          f"{counts['stillborn']} did not build")
    if not a.keep and not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if counts["survived"] == 0 and counts["stillborn"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
