import sys

from dagshift.cli import main

sys.exit(main())
