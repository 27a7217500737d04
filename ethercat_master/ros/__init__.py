"""The ROS 2 layer: the lifecycle node ``ethercat_master`` (:mod:`.node`), its message
conversions (:mod:`.conversions`) and ``/diagnostics`` (:mod:`.diagnostics`). The only layer
that imports rclpy; it uses the core's public API only. Run it with ``ethercat_master_node``
(or ``python -m ethercat_master.ros``) or from ``launch/``."""
