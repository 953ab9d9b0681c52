"""``python -m open_s2s.port OLD.py -o NEW.py``."""

import sys

from open_s2s.port.cli import main

sys.exit(main())
