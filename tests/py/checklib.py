"""What the redis-py check scripts share: their PORT [HOST] arguments and a check() that stops at
the first failure and counts the passes (printed by summary())."""
import sys

passed = 0


def target():
    """(port, host) from the command line: PORT [HOST], HOST defaulting to 127.0.0.1."""
    return int(sys.argv[1]), (sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1")


def check(cond, what):
    global passed
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)
    passed += 1


def summary(what):
    print(f"{what}: {passed} passed, 0 failed")
