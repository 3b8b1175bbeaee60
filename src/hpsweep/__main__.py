import sys

from hpsweep.cli import main

sys.exit(main())
