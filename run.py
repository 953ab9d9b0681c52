"""Train, evaluate, infer with or export a model: python run.py --config_file=... --mode=..."""

import sys

from open_s2s.runner import main

if __name__ == "__main__":
    sys.exit(main())
