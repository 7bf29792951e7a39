"""``python -m sm_constructs.local``: the same as ``sm-local``."""

from .cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
