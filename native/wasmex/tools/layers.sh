#!/usr/bin/env bash
# Checks the crate's layering (see the "Layers" section of src/lib.rs):
#   ground (0) < store (1) < core concepts (2) < components (3) < lib.rs (4)
# It reads every `crate::`, `super::` and `self::` path in src/ (comments skipped), resolves it
# to the file it names and prints
#   * every edge that runs from a lower layer to a higher one;
#   * every import circle (strongly connected set of files) that spans more than one folder
#     (a folder is `store` = store.rs + store/, `component` = component.rs + component/,
#     `convert`, or the flat root);
#   * a per-file summary of what each file imports, with --verbose.
# Exits 1 when it finds a violation. Usage: native/wasmex/tools/layers.sh [--verbose]
set -euo pipefail
cd "$(dirname "$0")/../src"
exec python3 - "$@" <<'PY'
import os, re, sys

verbose = "--verbose" in sys.argv[1:]
GROUND = {"error", "atoms", "term", "engine", "cache", "pipe", "wat_text", "stacks", "cache_tests",
          "pipe_tests"}
CONCEPTS = {"module", "instance", "func", "global", "memory", "imports", "linker"}
NAMES = ["ground", "store", "concepts", "component", "lib"]

files = sorted(
    os.path.join(d, f)[2:] for d, _, fs in os.walk(".") for f in fs if f.endswith(".rs"))

def module_of(path):
    """The module path of a file: store/data.rs -> [store, data]; convert/mod.rs -> [convert]."""
    parts = path[:-3].split("/")
    if parts[-1] == "mod":
        parts = parts[:-1]
    return [] if parts == ["lib"] else parts

def layer(path):
    top = module_of(path)[:1]
    if not top:
        return 4
    top = top[0]
    if top in GROUND or top == "convert":
        return 0
    if top == "store":
        return 1
    if top in CONCEPTS:
        return 2
    if top == "component":
        return 3
    sys.exit(f"layers.sh: {path} is in no layer; add it to the map")

def folder(path):
    top = module_of(path)[:1]
    if top and top[0] in ("store", "component", "convert"):
        return top[0]
    return "."

def file_of(mod):
    """The file defining the longest prefix of module path `mod`."""
    for n in range(len(mod), 0, -1):
        base = "/".join(mod[:n])
        for cand in (base + ".rs", base + "/mod.rs"):
            if cand in files:
                return cand
    return "lib.rs"

def expand(prefix, rest):
    """Paths of `prefix::rest`, where rest may open one level of braces."""
    m = re.match(r"\{([^}]*)\}", rest)
    if not m:
        return [prefix + re.match(r"[\w:]*", rest).group(0).split("::")]
    out = []
    for item in m.group(1).split(","):
        item = item.strip()
        if item:
            out.append(prefix + item.split(" as ")[0].split("::"))
    return out

edges = {f: set() for f in files}
for f in files:
    me = module_of(f)
    # The module `super` names: the parent of this file's module (mod.rs / lib-style files
    # name their own module `self`).
    for line in open(f):
        code = line.split("//")[0]
        for m in re.finditer(r"\b(crate|super|self)::((?:\w+::)*)(\{[^}]*\}|\w+)", code):
            root, mid, last = m.group(1), m.group(2), m.group(3)
            mids = [p for p in mid.split("::") if p]
            if root == "crate":
                base = []
            elif root == "super":
                base = me[:-1]
            else:
                base = me
            for path in expand(base + mids, last):
                target = file_of([p for p in path if p and p != "self"])
                if target != f:
                    edges[f].add(target)

bad = 0
for f in files:
    for t in sorted(edges[f]):
        if layer(t) > layer(f):
            print(f"UP   {f} ({NAMES[layer(f)]}) -> {t} ({NAMES[layer(t)]})")
            bad += 1

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        sccs.append(sorted(comp))
sys.setrecursionlimit(10000)
for v in files:
    if v not in index:
        visit(v)
circles = [c for c in sccs if len(c) > 1]
for c in circles:
    span = sorted({folder(f) for f in c})
    tag = "LOOP" if len(span) > 1 else "loop"
    print(f"{tag} across {', '.join(span)}: {' <-> '.join(c)}")
    if len(span) > 1:
        bad += 1

if verbose:
    for f in files:
        print(f"{f} [{NAMES[layer(f)]}] -> {', '.join(sorted(edges[f])) or '-'}")

n_edges = sum(len(e) for e in edges.values())
print(f"{len(files)} files, {n_edges} edges, {sum(1 for c in circles if len({folder(f) for f in c}) == 1)} "
      f"circle(s) inside one folder, {bad} violation(s)")
sys.exit(1 if bad else 0)
PY
