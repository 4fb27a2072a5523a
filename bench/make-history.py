#!/usr/bin/env python3
"""Writes a `git fast-import` stream that replays real source files changing over N commits.

    make-history.py CORPUS_DIR COMMITS SECRETS_OUT | git -C repo fast-import --quiet

Files come from CORPUS_DIR (sorted, deterministic). Commit i adds the next file of the pool
while the pool lasts, and edits one or two files already in the tree: a run of lines is replaced
by lines of another file, as real edits replace code. Every 500th commit plants a GitHub token,
made here with a valid checksum, in a config file (removed again 3 commits later). The planted
tokens are written to SECRETS_OUT, one per line, so a benchmark can check that every tool finds
them. Nothing is stored in this repository: the tokens are random per run.
"""
import os
import random
import sys
import zlib

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def github_token(rng):
    body = "".join(rng.choice(B62) for _ in range(30))
    crc = zlib.crc32(body.encode()) & 0xFFFFFFFF
    check = ""
    while crc:
        crc, r = divmod(crc, 62)
        check = B62[r] + check
    return "ghp_" + body + check.rjust(6, "0")


def main():
    corpus, commits, secrets_out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = random.Random(2026)
    pool = []
    for root, dirs, names in os.walk(corpus):
        dirs.sort()
        for n in sorted(names):
            if n.endswith((".rs", ".py", ".h", ".c", ".toml", ".md")):
                p = os.path.join(root, n)
                size = os.path.getsize(p)
                if 200 < size < 200_000:
                    pool.append(p)
    rng.shuffle(pool)
    pool = pool[: max(commits // 2, 100)]
    tree = {}  # path in repo -> list of lines (bytes)
    out = sys.stdout.buffer
    mark = 0
    planted = []
    live_secret = None
    t0 = 1_700_000_000
    for i in range(commits):
        changes = {}
        if i < len(pool):
            src = pool[i]
            rel = os.path.relpath(src, corpus)
            with open(src, "rb") as f:
                tree[rel] = f.read().splitlines(keepends=True)
            changes[rel] = tree[rel]
        paths = list(tree)
        for _ in range(rng.choice((1, 1, 2))):
            if not paths:
                break
            p = rng.choice(paths)
            lines = tree[p]
            donor = tree[rng.choice(paths)]
            if not lines or not donor:
                continue
            a = rng.randrange(len(lines))
            b = min(len(lines), a + rng.randint(1, 8))
            c = rng.randrange(len(donor))
            lines[a:b] = donor[c : c + rng.randint(1, 8)]
            changes[p] = lines
        if i % 500 == 250:
            tok = github_token(rng)
            planted.append(tok)
            live_secret = ("config/service-%d.env" % i, i)
            tree[live_secret[0]] = [b"PORT=8080\n", ("GITHUB_TOKEN=%s\n" % tok).encode()]
            changes[live_secret[0]] = tree[live_secret[0]]
        deletes = []
        if live_secret and i == live_secret[1] + 3:
            deletes.append(live_secret[0])
            del tree[live_secret[0]]
            live_secret = None
        blobs = {}
        for p, lines in changes.items():
            if p not in tree:
                continue
            mark += 1
            data = b"".join(lines)
            out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)))
            out.write(data)
            out.write(b"\n")
            blobs[p] = mark
        msg = ("commit %d: edit %s\n" % (i, ", ".join(sorted(changes))[:200])).encode()
        who = b"Dev %d <dev%d@example.org>" % (i % 17, i % 17)
        when = b"%d +0000" % (t0 + i * 3600)
        out.write(b"commit refs/heads/main\n")
        out.write(b"author " + who + b" " + when + b"\ncommitter " + who + b" " + when + b"\n")
        out.write(b"data %d\n" % len(msg) + msg)
        for p in deletes:
            out.write(b"D " + p.encode() + b"\n")
        for p, m in blobs.items():
            out.write(b"M 100644 :%d " % m + p.encode() + b"\n")
        out.write(b"\n")
    with open(secrets_out, "w") as f:
        f.write("\n".join(planted) + "\n")


if __name__ == "__main__":
    main()
