import sys

try:
    from .cli import main
    sys.exit(main())
except KeyboardInterrupt:   # Ctrl-C before the command had started anything (while importing)
    print("interrupted", file=sys.stderr)
    sys.exit(130)
