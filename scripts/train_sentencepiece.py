"""Command-line entry point of `open_s2s.data.subword` (see its docstring; `--help` for options)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from open_s2s.data.subword import main

if __name__ == "__main__":
    sys.exit(main())
