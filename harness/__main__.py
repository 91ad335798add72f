import sys

try:
    # Mininet 2.3.0 imports distutils.version. In a virtualenv, setuptools' shim answers that
    # import with setuptools' own copy, importing the whole of setuptools: 0.2 s of every
    # command. This process is the harness's own, and Python 3.11's distutils serves Mininet
    # the same, so the shim goes (Python 3.12 has no distutils: there it stays).
    if sys.version_info < (3, 12):
        try:
            from _distutils_hack import remove_shim
            remove_shim()
        except ImportError:     # no setuptools in this Python: no shim either
            pass
    from .cli import main
    sys.exit(main())
except KeyboardInterrupt:   # Ctrl-C before the command had started anything (while importing)
    from . import exit_interrupted
    exit_interrupted()
