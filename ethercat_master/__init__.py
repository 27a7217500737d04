"""ethercat_master: an EtherCAT master in Python, with a slave-chain simulator and a ROS 2 node.

Layers (imports point downwards only)::

    ros/        lifecycle node (the only layer importing rclpy)
    tools/      command-line tools
    devices/    device profiles (CiA 402)
    master/     the master
    config/     network description, ESI import
    protocol/   pure codecs, no I/O
    transport/  links that move frames
    sim/        slave-chain simulator (uses protocol/, never master/)

See ``docs/architecture.md``.
"""

import pkgutil as _pkgutil

# The ROS 2 build installs generated interface modules (ethercat_master.msg, .srv) into the
# colcon install tree. When this source tree comes first on sys.path (development, tests),
# extending the package path lets both halves import as one package.
__path__ = _pkgutil.extend_path(__path__, __name__)

__version__ = "0.1.0"
