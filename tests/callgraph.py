#!/usr/bin/env python3
"""callgraph.py: which preload file calls which, from the objects' symbol tables.

A file depends on another when it references a function or variable the other defines
(nm: an undefined symbol here, a global definition there).  Static functions stay inside
their file, so this sees every call between files, including calls through pointers taken
by name.  Nothing is filtered: a file that calls close() depends on hooks.c, which defines
it, so such a call closes a circle.

  tests/callgraph.py build/preload            print the edges, then any circle
  tests/callgraph.py --check build/preload    print only circles; exit 1 if there is one
  tests/callgraph.py --dot build/preload      the graph for graphviz
  tests/callgraph.py --layers build/preload   files by level: each calls only lower levels
  --src preload: only objects whose source is still there (a removed file's stale object
  would otherwise stay in the graph)
  tests/callgraph.py --self-calls build/liballocguard.so
      the library's relocations that bind to a symbol it exports itself (readelf -r and
      --dyn-syms): a call that would go back up into its own hooks; exit 1 if any
"""
import os
import subprocess
import sys


def nm(kind, objs):
    """{object: the names nm lists of it} for one nm run over all objects (one process, not
    two per object: on a loaded machine the spawns were most of the time)."""
    out = subprocess.run(["nm", "-A", kind] + objs, capture_output=True, text=True,
                         check=True).stdout
    found = {obj: [] for obj in objs}
    for line in out.splitlines():
        obj, _, rest = line.partition(":")
        if obj in found and rest.split():
            found[obj].append(rest.split())
    return found


def graph(objdir, srcdir=None):
    files = sorted(f for f in os.listdir(objdir) if f.endswith(".o") and
                   (srcdir is None or os.path.exists(os.path.join(srcdir, f[:-2] + ".c"))))
    if not files:
        sys.exit("callgraph: no objects in %s (build first)" % objdir)
    objs = [os.path.join(objdir, f) for f in files]
    defs, undefs = nm("--defined-only", objs), nm("--undefined-only", objs)
    owner, uses = {}, {}
    for f, obj in zip(files, objs):
        name = f[:-2] + ".c"
        for fields in defs[obj]:
            if len(fields) == 3 and fields[1] in "TWDBRVG":
                owner[fields[2]] = name
        uses[name] = {fields[-1] for fields in undefs[obj]}
    edges = {}
    for name, used in uses.items():
        edges[name] = {}
        for s in used:
            to = owner.get(s)
            if to and to != name:
                edges[name].setdefault(to, []).append(s)
    return edges


def readelf(*args):
    return subprocess.run(["readelf", "-W"] + list(args), capture_output=True, text=True,
                          check=True).stdout.splitlines()


def self_calls(lib):
    """(relocation type, symbol) of every relocation of lib against a symbol lib exports."""
    exported = set()
    for line in readelf("--dyn-syms", lib):
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) >= 8 and f[0].endswith(":") and f[6] != "UND" and f[4] in ("GLOBAL", "WEAK"):
            exported.add(f[7].split("@")[0])
    found = []
    for line in readelf("-r", lib):
        f = line.split()
        # Offset Info Type Sym.Value Sym.Name + Addend (no name: a relative relocation)
        if len(f) >= 5 and f[2].startswith("R_") and f[4] != "+":
            name = f[4].split("@")[0]
            if name in exported:
                found.append((f[2], name))
    return sorted(set(found))


def circles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main(argv):
    mode, srcdir = "list", None
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt in ("--check", "--dot", "--layers", "--self-calls"):
            mode = opt[2:]
        elif opt == "--src" and argv:
            srcdir = argv.pop(0)
        else:
            sys.exit(__doc__)
    if len(argv) != 1:
        sys.exit(__doc__)
    if mode == "self-calls":
        found = self_calls(argv[0])
        for kind, name in found:
            print("calls its own export: %s (%s)" % (name, kind))
        return 1 if found else 0
    edges = graph(argv[0], srcdir)
    if mode == "dot":
        print("digraph preload {")
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print('  "%s" -> "%s";' % (a, b))
        print("}")
        return 0
    if mode == "layers":
        found = circles(edges)
        if found:
            print("circle among: " + " ".join(found[0]))
            return 1
        level = {}

        def depth(v):
            if v not in level:
                level[v] = 1 + max((depth(w) for w in edges[v]), default=-1)
            return level[v]

        for v in edges:
            depth(v)
        for n in range(max(level.values()) + 1):
            print("%d: %s" % (n, " ".join(sorted(v for v in level if level[v] == n))))
        return 0
    if mode == "list":
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print("%s -> %s (%s)" % (a, b, " ".join(sorted(edges[a][b]))))
    found = circles(edges)
    for comp in found:
        print("circle among: " + " ".join(comp))
        inside = set(comp)
        for a in comp:
            for b in sorted(edges[a]):
                if b in inside:
                    print("  %s -> %s (%s)" % (a, b, " ".join(sorted(edges[a][b]))))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
