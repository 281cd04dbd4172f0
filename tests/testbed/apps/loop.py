"""Loops forever; tests attach to it and break in tick()."""

import sys
import time


def tick(n):
    value = n * 2  # BREAKPOINT: tick
    return value


def main():
    n = 0
    while True:
        tick(n)
        n += 1
        if n % 100 == 0:
            print(f"ticks {n}", flush=True)
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
