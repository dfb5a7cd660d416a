#!/usr/bin/env python3
"""callgraph.py: which preload file calls which, from the objects' symbol tables.

A file depends on another when it references a function or variable the other defines
(nm: an undefined symbol here, a global definition there).  Static functions stay inside their file, so
this sees every call between files, including calls through pointers taken by name.

  tests/callgraph.py build/preload            print the edges, then any circle
  tests/callgraph.py --check build/preload    print only circles; exit 1 if there is one
  tests/callgraph.py --dot build/preload      the graph for graphviz
  tests/callgraph.py --layers build/preload   files by level: each calls only lower levels
  --src preload: only objects whose source is still there (a removed file's stale object
  would otherwise stay in the graph)
"""
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", "--defined-only", obj], capture_output=True, text=True,
                         check=True).stdout
    defined = {line.split()[2] for line in out.splitlines()
               if len(line.split()) == 3 and line.split()[1] in "TWDBRVG"}
    out = subprocess.run(["nm", "--undefined-only", obj], capture_output=True, text=True,
                         check=True).stdout
    used = {line.split()[-1] for line in out.splitlines() if line.split()}
    return defined, used


def graph(objdir, srcdir=None):
    files = sorted(f for f in os.listdir(objdir) if f.endswith(".o") and
                   (srcdir is None or os.path.exists(os.path.join(srcdir, f[:-2] + ".c"))))
    if not files:
        sys.exit("callgraph: no objects in %s (build first)" % objdir)
    owner, uses = {}, {}
    for f in files:
        name = f[:-2] + ".c"
        defined, used = symbols(os.path.join(objdir, f))
        for s in defined:
            owner[s] = name
        uses[name] = used
    # hooks.c defines the libc names (close, read, dlopen...): a call to one of those from
    # another file is a call into libc that the preload happens to interpose, not a use of
    # hooks.c.  Its own functions are named hooks_*.
    for s, name in list(owner.items()):
        if name == "hooks.c" and not s.startswith("hooks_"):
            del owner[s]
    edges = {}
    for name, used in uses.items():
        edges[name] = {}
        for s in used:
            to = owner.get(s)
            if to and to != name:
                edges[name].setdefault(to, []).append(s)
    return edges


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
        if opt in ("--check", "--dot", "--layers"):
            mode = opt[2:]
        elif opt == "--src" and argv:
            srcdir = argv.pop(0)
        else:
            sys.exit(__doc__)
    if len(argv) != 1:
        sys.exit(__doc__)
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
