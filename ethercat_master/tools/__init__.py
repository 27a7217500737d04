"""Command-line tools: the ``ethercat-master`` CLI and the demos."""
