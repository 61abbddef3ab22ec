import sys

from tsdtool.quick import main

sys.exit(main())
