#!/usr/bin/python3
"""Replaces one section of docs/PERFORMANCE.md.

Usage: bench/perfdoc.py TITLE < section.md — the section starts with
"## TITLE" and runs to the next "## " heading; it is replaced when present,
appended otherwise. The benchmark scripts in bench/ call this so that each
rewrites only its own section.
"""
import sys

PATH = "docs/PERFORMANCE.md"
HEAD = ("# Performance\n\nFigures measured on this machine by `make bench` "
        "and the scripts in `bench/`\n(2 cores, Debian 12). Tests never "
        "check speed; these runs do.\n")


def main():
    title = sys.argv[1]
    body = sys.stdin.read().strip("\n") + "\n"
    section = "## %s\n\n%s" % (title, body)
    try:
        text = open(PATH).read()
    except FileNotFoundError:
        text = HEAD
    start = text.find("## %s\n" % title)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    open(PATH, "w").write(text)
    print("wrote", PATH, "section", title)


if __name__ == "__main__":
    main()
