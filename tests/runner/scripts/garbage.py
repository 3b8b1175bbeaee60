"""Prints garbage, invalid UTF-8, malformed marker lines and, given argv[1], a huge line."""

import sys

out = sys.stdout.buffer
out.write(b"\xff\xfe\x00garbage \x80\x81 not utf-8\n")
out.write(b"hpsweep: {not json\n")
out.write(b'hpsweep: {"step": "two", "value": 1}\n')
out.write(b"hpsweep: [1, 2]\n")
if len(sys.argv) > 1:
    out.write(b"x" * (int(sys.argv[1]) << 20) + b"\n")
out.write(b'hpsweep: {"step": 0, "value": 0.5}\n')
out.write(b'hpsweep: {"result": 0.75}\n')
