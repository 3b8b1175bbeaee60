"""Fails in the way argv[1] names."""

import os
import signal
import sys

print("a first line\n\nsecond line", file=sys.stderr)
print("third line", file=sys.stderr)
print("the last line", file=sys.stderr, flush=True)
if sys.argv[1] == "exit":
    sys.exit(3)
os.kill(os.getpid(), signal.SIGSEGV)
