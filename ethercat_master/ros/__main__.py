"""``python -m ethercat_master.ros``: the lifecycle node (see :mod:`.main`)."""

import sys

from .main import main

sys.exit(main())
