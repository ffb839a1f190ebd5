#!/usr/bin/env python3
"""Prints `EXP_TAB` of runtime/src/math.rs: for i in 0..128, 2^(i/128) = scale_i * (1 + tail_i)
with scale_i the nearest double to 2^(i/128) and tail_i the nearest double to
(2^(i/128) - scale_i) / scale_i, computed with 60-digit decimals; the entries are the bits of
tail_i and the bits of scale_i minus i << 45 (exp adds k << 45 back).

    python3 scripts/gen_exp_table.py --check   # exit 1 if math.rs holds a different table
"""
import re
import struct
import sys
from decimal import Decimal, getcontext
from fractions import Fraction
from pathlib import Path

getcontext().prec = 60
N = 128


def bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def table() -> list[int]:
    out = []
    for i in range(N):
        v = Fraction(Decimal(2) ** (Decimal(i) / Decimal(N)))
        scale = float(v)  # float(Fraction) rounds to nearest
        tail = float((v - Fraction(scale)) / Fraction(scale))
        out += [bits(tail), (bits(scale) - (i << 45)) % 2**64]
    return out


def main() -> int:
    t = table()
    if "--check" in sys.argv:
        src = (Path(__file__).resolve().parent.parent / "runtime/src/math.rs").read_text()
        body = src.split("pub static EXP_TAB: [u64; 256] = [", 1)[1].split("];", 1)[0]
        have = [int(h, 16) for h in re.findall(r"0x([0-9A-Fa-f]{16})", body)]
        if have != t:
            print("runtime/src/math.rs: EXP_TAB differs from the generated table", file=sys.stderr)
            return 1
        print("EXP_TAB matches")
        return 0
    for k in range(0, len(t), 2):
        print(f"    0x{t[k]:016X}, 0x{t[k + 1]:016X},")
    return 0


if __name__ == "__main__":
    sys.exit(main())
