"""``python -m redislite [options]`` == ``twistd -n --pidfile= redislite [options]``."""
import sys


def main(argv=None):
    from twisted.scripts.twistd import run
    args = sys.argv[1:] if argv is None else list(argv)
    sys.argv = ["twistd", "--nodaemon", "--pidfile=", "redislite"] + args
    run()


if __name__ == "__main__":
    main()
