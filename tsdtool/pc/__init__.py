"""The PC side of a support request: Windows, 1C, Mobile SMARTS, GRServer — read under a root folder.

Desks ask for facts that live on the technician's or the customer's Windows PC: the Windows
version and bitness, the 1C platform versions, the Mobile SMARTS bases and their logs, the
GRServer exchange folder. Each module here is one bundle item family, reading files below a
:class:`~tsdtool.pc.root.PcRoot`: the live system drive by default, or a copied or mounted
Windows drive given with ``--pc-root DIR`` — so every path is testable on Linux with a fake
Windows tree. Where products keep things is data in the app profiles (``[pc]`` tables).

Nothing here imports a Windows-only module at import time: ``winreg`` is imported inside the
one function that reads the live registry, only on Windows.
"""
