"""App data: app profiles, the ways into an app's files, and checks on pulled databases.

``profiles`` says where an app keeps its data, ``access`` reaches it (run-as, external
storage, su), ``tarstream`` unpacks a device tar stream safely and ``dbcheck`` opens the
local copies. The collectors in :mod:`tsdtool.collectors.database` and
:mod:`tsdtool.collectors.logs` put them together.
"""
