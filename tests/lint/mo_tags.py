#!/usr/bin/env python3
"""Memory-order tag lint (docs/conventions.md, "Memory orders").

Every explicit memory order and every fence in the C sources must be directly preceded (no ';'
in between, so one comment covers one statement) by a comment of the form

    /* MO <tag> (<order>): why; pairs with <tag>[, <tag>...] ... */    e.g. MO mpmc.R1 (release)
    /* MO relaxed: why nothing needs ordering */                       only for relaxed-only statements

A tagged comment on a non-relaxed order must name at least one partner ("pairs with X"), and every
partner named must be a tag defined somewhere in the tree. Tags are defined once.
The script first lints a few known-bad snippets and fails if it does not catch each of them, so
it cannot pass vacuously.
"""
import os
import re
import sys

ORDER = re.compile(r"\bmemory_order_(relaxed|consume|acquire|release|acq_rel|seq_cst)\b")
FENCE = re.compile(r"\batomic_(thread|signal)_fence\s*\(")
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
TAG = r"[a-z][a-z0-9_]*\.[A-Z]+[0-9]+[a-z]?"
DEF = re.compile(r"\bMO\s+(" + TAG + r")\s*\(")
RELAXED = re.compile(r"\bMO\s+relaxed\b")
PAIRS = re.compile(r"pairs\s+with\s+((?:" + TAG + r")(?:\s*(?:,|and|/)\s*" + TAG + r")*)")
TAGREF = re.compile(TAG)


def lint_text(name, text):
    """Return (errors, defined_tags, referenced_tags[(tag, where)])."""
    errors, defined, refs = [], {}, []
    comments = [(m.start(), m.end(), m.group(0)) for m in COMMENT.finditer(text)]

    def line_of(pos):
        return text.count("\n", 0, pos) + 1

    for s, e, c in comments:
        for m in DEF.finditer(c):
            tag = m.group(1)
            if tag in defined:
                errors.append(f"{name}:{line_of(s)}: tag {tag} defined again (first at line {defined[tag]})")
            else:
                defined[tag] = line_of(s)
        for m in PAIRS.finditer(c):
            for t in TAGREF.findall(m.group(1)):
                refs.append((t, f"{name}:{line_of(s)}"))

    def in_comment(pos):
        return any(s <= pos < e for s, e, _ in comments)

    uses = [(m.start(), m.group(1)) for m in ORDER.finditer(text)]
    uses += [(m.start(), "fence") for m in FENCE.finditer(text)]
    for pos, order in sorted(uses):
        if in_comment(pos):
            continue
        # The covering comment: the last MO comment before pos with no ';' between it and pos.
        cover = None
        for s, e, c in comments:
            if e <= pos and "MO" in c and ";" not in COMMENT.sub("", text[e:pos]):
                cover = c
        where = f"{name}:{line_of(pos)}"
        what = "fence" if order == "fence" else f"memory_order_{order}"
        if cover is None or not (DEF.search(cover) or RELAXED.search(cover)):
            errors.append(f"{where}: {what} without an 'MO <tag> (...)' or 'MO relaxed:' comment before its statement")
            continue
        if order != "relaxed" and not DEF.search(cover):
            errors.append(f"{where}: {what} under an 'MO relaxed' comment; give it a tag and its partner")
            continue
        if order != "relaxed" and not PAIRS.search(cover):
            errors.append(f"{where}: {what} tagged but names no partner ('pairs with <tag>')")
    return errors, defined, refs


def check_refs(defined, refs):
    return [f"{where}: partner tag {t} is defined nowhere" for t, where in refs if t not in defined]


SELF_TEST_BAD = {
    "untagged": "void f(void) { atomic_store_explicit(&x, 1, memory_order_release); }",
    "no-partner": "void f(void) {\n/* MO q.R1 (release): publish */\natomic_store_explicit(&x, 1, memory_order_release); }",
    "relaxed-comment-on-acquire": "/* MO relaxed: fine */\nint v = atomic_load_explicit(&x, memory_order_acquire);",
    "comment-two-statements-up": "/* MO q.R1 (release): pairs with q.A1 */\na = 1;\natomic_store_explicit(&x, 1, memory_order_release);\n"
    "/* MO q.A1 (acquire): pairs with q.R1 */\nv = atomic_load_explicit(&x, memory_order_acquire);",
    "untagged-fence": "void f(void) { atomic_thread_fence(memory_order_seq_cst); }",
    "dangling-partner": "/* MO q.R1 (release): pairs with q.A9 */\natomic_store_explicit(&x, 1, memory_order_release);",
    "duplicate-tag": "/* MO q.R1 (release): pairs with q.R1 */\natomic_store_explicit(&x, 1, memory_order_release);\n"
    "/* MO q.R1 (release): pairs with q.R1 */\natomic_store_explicit(&y, 1, memory_order_release);",
}
SELF_TEST_GOOD = (
    "/* MO q.R1 (release): publish item before seq; pairs with q.A1 in pop(). */\n"
    "atomic_store_explicit(&s->seq, pos + 1, memory_order_release);\n"
    "/* MO q.A1 (acquire): see the item; pairs with q.R1 in push(). */\n"
    "while (!atomic_compare_exchange_weak_explicit(&h, &old, n,\n"
    "        memory_order_acquire, memory_order_relaxed))\n"
    "        ;\n"
    "/* MO relaxed: statistics only, nobody orders against it. */\n"
    "atomic_fetch_add_explicit(&n, 1, memory_order_relaxed);\n"
)


def self_test():
    failures = []
    for label, text in SELF_TEST_BAD.items():
        errs, d, r = lint_text(label, text)
        if not errs + check_refs(d, r):
            failures.append(f"self-test: known-bad snippet '{label}' passed the lint")
    errs, d, r = lint_text("good", SELF_TEST_GOOD)
    errs += check_refs(d, r)
    if errs:
        failures.append("self-test: known-good snippet failed: " + "; ".join(errs))
    return failures


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("IOBENCH_SOURCE_ROOT", ".")
    failures = self_test()
    if failures:
        print("\n".join(failures))
        return 1
    errors, defined, refs, files, uses = [], {}, [], 0, 0
    me = os.path.abspath(__file__)
    for top in ("runtime", "harness", "bench", "tests"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                path = os.path.join(dirpath, n)
                if not n.endswith((".c", ".h", ".cc")) or os.path.abspath(path) == me:
                    continue
                text = open(path, encoding="utf-8", errors="replace").read()
                rel = os.path.relpath(path, root)
                e, d, r = lint_text(rel, text)
                files += 1
                uses += len(ORDER.findall(text)) + len(FENCE.findall(text))
                for t, line in d.items():
                    if t in defined:
                        e.append(f"{rel}:{line}: tag {t} already defined in {defined[t]}")
                    else:
                        defined[t] = f"{rel}:{line}"
                errors += e
                refs += r
    errors += check_refs(defined, refs)
    for e in errors:
        print(e)
    print(f"self-test ok; {files} files, {uses} explicit orders/fences, {len(defined)} tags, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
