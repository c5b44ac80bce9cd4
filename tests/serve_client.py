"""For tests/kvcli_serve_test.sh: a burst
of concurrent scrapes, and a strict check of the Prometheus text format.

  serve_client.py burst URL N            N scrapes at once; prints "200:N ..."
  serve_client.py check-metrics FILE     exit 1 with the reason when FILE
                                         breaks the text format's rules
"""
import asyncio
import re
import sys
import urllib.parse


async def one_scrape(host, port, path):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    line = data.split(b"\r\n", 1)[0].decode()
    return line.split(" ")[1] if line.startswith("HTTP/1.1 ") else "no-response"


async def burst(url, n):
    parts = urllib.parse.urlsplit(url)
    results = await asyncio.gather(
        *[one_scrape(parts.hostname, parts.port, parts.path) for _ in range(n)],
        return_exceptions=True)
    counts = {}
    for r in results:
        key = r if isinstance(r, str) else type(r).__name__
        counts[key] = counts.get(key, 0) + 1
    print(" ".join(f"{k}:{v}" for k, v in sorted(counts.items())))


NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def parse_labels(text):
    if not text:
        return ()
    body = text[1:-1]
    labels, pos = [], 0
    while pos < len(body):
        m = LABEL.match(body, pos)
        if not m:
            raise ValueError(f"bad labels {text!r}")
        labels.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(body):
            if body[pos] != ",":
                raise ValueError(f"bad labels {text!r}")
            pos += 1
    names = [k for k, _ in labels]
    if len(set(names)) != len(names):
        raise ValueError(f"repeated label in {text!r}")
    return tuple(labels)


def check_metrics(path):
    """The rules Prometheus's text format (0.0.4) sets, checked strictly."""
    families, current, seen = {}, None, set()
    helped = set()
    for n, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
        if line == "":
            continue
        where = f"line {n}: {line!r}"
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            if name in helped:
                raise ValueError(f"second HELP for {name}, {where}")
            helped.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            if name in families or not NAME.match(name):
                raise ValueError(f"repeated or bad TYPE, {where}")
            if kind not in ("counter", "gauge", "histogram"):
                raise ValueError(f"unknown type, {where}")
            if kind == "counter" and not name.endswith("_total"):
                raise ValueError(f"counter not ending in _total, {where}")
            if name not in helped:
                raise ValueError(f"TYPE without HELP first, {where}")
            families[name] = {"type": kind, "series": {}}
            current = name
            continue
        if line.startswith("#"):
            raise ValueError(f"stray comment, {where}")
        m = SAMPLE.match(line)
        if not m or current is None:
            raise ValueError(f"not a sample, {where}")
        name, labels, value = m.group(1), parse_labels(m.group(2)), m.group(3)
        float(value)  # NaN, +Inf and numbers parse
        family = families[current]
        if family["type"] == "histogram":
            suffixes = ("_bucket", "_sum", "_count")
            if not any(name == current + s for s in suffixes):
                raise ValueError(f"sample outside its histogram, {where}")
        elif name != current:
            raise ValueError(f"sample outside its family, {where}")
        if (name, labels) in seen:
            raise ValueError(f"repeated series, {where}")
        seen.add((name, labels))
        family["series"][(name, labels)] = float(value)
    for name, family in families.items():
        if family["type"] != "histogram":
            continue
        groups = {}
        for (sample, labels), value in family["series"].items():
            base = tuple(kv for kv in labels if kv[0] != "le")
            groups.setdefault(base, {}).setdefault(sample, []).append((dict(labels).get("le"), value))
        for base, parts in groups.items():
            buckets = parts.get(name + "_bucket", [])
            les = [float(le) for le, _ in buckets]
            if not buckets or les != sorted(les) or les[-1] != float("inf"):
                raise ValueError(f"{name}{base}: buckets must rise to le=\"+Inf\"")
            counts = [v for _, v in buckets]
            if counts != sorted(counts):
                raise ValueError(f"{name}{base}: bucket counts must not fall")
            if parts.get(name + "_count") != [(None, counts[-1])] or len(parts.get(name + "_sum", [])) != 1:
                raise ValueError(f"{name}{base}: _count must equal the +Inf bucket, with one _sum")
    if not families:
        raise ValueError("no families")


def main():
    cmd = sys.argv[1]
    if cmd == "burst":
        asyncio.run(burst(sys.argv[2], int(sys.argv[3])))
    elif cmd == "check-metrics":
        try:
            check_metrics(sys.argv[2])
        except ValueError as error:
            print(error)
            sys.exit(1)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
