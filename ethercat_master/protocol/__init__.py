"""Pure codecs of the EtherCAT wire protocol: no I/O, no clocks, no threads.

Every decoder of bytes from the wire raises only :class:`ethercat_master.errors.ProtocolError`
(or a subclass) on malformed input.
"""
