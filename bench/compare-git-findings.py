#!/usr/bin/env python3
"""Compares the (file, commit) pairs of history-scan reports: every pair a peer (gitleaks,
Kingfisher) reports that Vigil does not is listed, so each can be found or explained.

    compare-git-findings.py vigil.json gitleaks.json kingfisher.json
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def vigil_pairs(d):
    return {(x["file"], x.get("commit", "")) for x in d or [] if "rule" in x}


def gitleaks_pairs(d):
    return {(x["File"], x.get("Commit", "")) for x in d or []}


def find_commit(v):
    """The first commit id in a Kingfisher finding's git metadata."""
    if isinstance(v, dict):
        for k, x in v.items():
            if k in ("commit_id", "id") and isinstance(x, str) and len(x) == 40:
                return x
            c = find_commit(x)
            if c:
                return c
    elif isinstance(v, list):
        for x in v:
            c = find_commit(x)
            if c:
                return c
    return ""


def kingfisher_pairs(d):
    out = set()
    for x in (d or {}).get("findings", []):
        f = x.get("finding", {})
        out.add((f.get("path", ""), find_commit(f.get("git_metadata", f))))
    return out


def main():
    v = vigil_pairs(load(sys.argv[1]))
    vfiles = {p[0] for p in v}
    for name, path, pairs in (
        ("gitleaks", sys.argv[2], gitleaks_pairs),
        ("kingfisher", sys.argv[3], kingfisher_pairs),
    ):
        d = load(path)
        if d is None:
            print(f"    {name}: no report")
            continue
        peer = pairs(d)
        missing = sorted(peer - v)
        same_file = [m for m in missing if m[0] in vfiles]
        print(
            f"    {name}: {len(peer)} (file, commit) pairs, {len(peer) - len(missing)} found by Vigil; "
            f"{len(missing)} not ({len(same_file)} of them in files where Vigil reports the secret at another commit)"
        )
        for m in missing:
            print(f"      not in Vigil: {m[0]} @ {m[1][:10]}")


main()
