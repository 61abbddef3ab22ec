"""The support bundle: collect → manifest + zip → report.html, ticket.md/.eml → verify, send.

:mod:`.collect` orchestrates one run; :mod:`.manifest` is the data (no I/O); :mod:`.writer`
packs the zip; :mod:`.verify` reads it back; :mod:`.report_html`, :mod:`.ticket` and
:mod:`.send` render and deliver it; :mod:`.desks`, :mod:`.fields` and :mod:`.form` say what a
desk requires and where the answers come from; :mod:`.redact` and :mod:`.host` are leaves.
"""
