import sys

from tsdtool.cli import main

sys.exit(main())
