"""The aiohttp application: boot files, per-host scripts, API.

:mod:`.service` binds and runs it (``HttpService``); :mod:`.handlers` resolves
a request to a document (:mod:`bootwright.boot.documents`, which TFTP asks too)
or a file (:mod:`.files`, :mod:`.ranges`, :mod:`.paths`); :mod:`.events` reports
each request; :mod:`.access` and ``Runtime.client_mac`` know who the client is.
See docs/http.md.
"""
