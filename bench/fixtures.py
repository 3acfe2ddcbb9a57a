#!/usr/bin/env python3
"""Write the benchmark's document root, byte for byte the same on every run.

    python3 bench/fixtures.py [--gz] DIR

Files (the sizes are exact; run.sh checks every server returns them whole):
    small.html      1024 B   a short article page with ordinary markup
    hello.txt         13 B   "Hello, world!"
    echo/hi            2 B   "hi": what peers serve where ./server answers /echo/hi
    file-100k.bin   100 KiB  pseudo-random bytes
    file-1m.bin       1 MiB  pseudo-random bytes
    data.json       200 KiB  an array of user records, compact JSON
With --gz also data.json.gz (gzip level 6), for peers that serve precompressed
files (run.sh with PEER_GZIP=cached).
"""

import gzip
import hashlib
import json
import os
import random
import sys

SMALL_HTML_SIZE = 1024
JSON_SIZE = 200 * 1024


def small_html():
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Release notes - Example</title>\n"
        '<link rel="stylesheet" href="/css/site.css">\n'
        "</head>\n<body>\n"
        '<header class="top"><nav><a href="/">Home</a> | <a href="/docs/">Docs</a>'
        ' | <a href="/blog/">Blog</a></nav></header>\n'
        '<main id="content">\n<article>\n<h1>Release 2.4</h1>\n'
        '<p class="meta">Posted on <time datetime="2024-03-18">18 March 2024</time></p>\n'
        "<p>This release makes keep-alive connections cheaper, adds gzip for "
        "JSON responses and fixes two parsing bugs in chunked uploads.</p>\n"
        "<ul>\n<li>Faster static files</li>\n<li>Smaller JSON over the wire</li>\n"
        "<li>Stricter header parsing</li>\n</ul>\n"
    )
    tail = (
        "</article>\n</main>\n"
        '<footer><p>&copy; 2024 Example. <a href="/privacy">Privacy</a></p></footer>\n'
        "</body>\n</html>\n"
    )
    filler = "<p>Upgrade notes and the full list of changes are in the changelog.</p>\n"
    body = head
    while len((body + filler + tail).encode()) <= SMALL_HTML_SIZE - 16:
        body += filler
    pad = SMALL_HTML_SIZE - len((body + tail).encode())
    # An HTML comment of exactly `pad` bytes: "<!--" + spaces + "-->\n".
    body += "<!--" + " " * (pad - 8) + "-->\n"
    data = (body + tail).encode()
    assert len(data) == SMALL_HTML_SIZE, len(data)
    return data


def pseudo_random(size, label):
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


FIRST = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Radia",
         "Edsger", "Frances", "Donald", "Sophie", "Niklaus", "Shafi", "Tim", "Lynn"]
LAST = ["Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
        "Perlman", "Dijkstra", "Allen", "Knuth", "Wilson", "Wirth", "Goldwasser", "Lee"]
CITIES = [("Lisbon", "PT"), ("Osaka", "JP"), ("Toronto", "CA"), ("Nairobi", "KE"),
          ("Munich", "DE"), ("Austin", "US"), ("Lyon", "FR"), ("Melbourne", "AU"),
          ("Bergen", "NO"), ("Valparaiso", "CL")]
STREETS = ["Oak Street", "Harbour Road", "Main Avenue", "Mill Lane", "Station Road",
           "Park Drive", "Church Street", "River Walk"]
TAGS = ["admin", "beta", "billing", "support", "newsletter", "mobile", "trial",
        "enterprise", "api", "legacy"]
PLANS = ["free", "starter", "pro", "business"]


def record(rng, i):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    city, country = rng.choice(CITIES)
    return {
        "id": i,
        "uuid": "%08x-%04x-4%03x-%04x-%012x" % (
            rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
            0x8000 | rng.getrandbits(14), rng.getrandbits(48)),
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{i}@example.com",
        "active": rng.random() < 0.8,
        "plan": rng.choice(PLANS),
        "balance": round(rng.uniform(-50, 5000), 2),
        "created_at": "20%02d-%02d-%02dT%02d:%02d:%02dZ" % (
            rng.randint(15, 24), rng.randint(1, 12), rng.randint(1, 28),
            rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)),
        "address": {
            "street": f"{rng.randint(1, 400)} {rng.choice(STREETS)}",
            "city": city,
            "country": country,
            "postcode": "%05d" % rng.randint(1000, 99999),
        },
        "tags": rng.sample(TAGS, rng.randint(0, 3)),
        "logins": rng.randint(0, 2000),
        "score": round(rng.random(), 4),
    }


def data_json():
    rng = random.Random(20240318)
    parts = []
    size = 2  # "[" and "]"
    i = 1
    while True:
        item = json.dumps(record(rng, i), separators=(",", ":"))
        extra = len(item) + (1 if parts else 0)
        if size + extra + 1 > JSON_SIZE:  # keep room for the final newline
            break
        parts.append(item)
        size += extra
        i += 1
    text = "[" + ",".join(parts) + "]"
    # Whitespace up to the exact size; still valid JSON.
    text += " " * (JSON_SIZE - 1 - len(text)) + "\n"
    data = text.encode()
    assert len(data) == JSON_SIZE, len(data)
    json.loads(data)
    return data


def main():
    args = sys.argv[1:]
    with_gz = args[:1] == ["--gz"]
    if with_gz:
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: fixtures.py [--gz] DIR")
    root = args[0]
    files = {
        "small.html": small_html(),
        "hello.txt": b"Hello, world!",
        "echo/hi": b"hi",
        "file-100k.bin": pseudo_random(100 * 1024, "100k"),
        "file-1m.bin": pseudo_random(1024 * 1024, "1m"),
        "data.json": data_json(),
    }
    if with_gz:
        files["data.json.gz"] = gzip.compress(files["data.json"], compresslevel=6, mtime=0)
    for name, data in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
