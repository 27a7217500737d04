"""The side-by-side benchmark of ``ethercat_master`` and SOEM (pysoem): the two peers run as
processes inside a network namespace (``ours.py``, ``soem.py``, sharing ``cli`` and
``common``), and the orchestrator's parts used by ``benchmarks/compare.py``: ``chains``
(simulated chains of N drives), ``runner`` (namespaces, the simulator and the peers),
``aggregate`` (figures and ratios over repetitions) and ``plots``."""
