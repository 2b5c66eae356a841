"""The boot domain, pure: what a client gets.

Decision (:mod:`.policy`), subnet choice (:mod:`.subnets`), the reply plan
(:mod:`.reply`), documents by name (:mod:`.documents`), renderers
(:mod:`.ipxe`, :mod:`.loaders`), one-shot boots (:mod:`.oneshot`) and the
boot timeline (:mod:`.timeline`). No sockets, no clocks, no files: ``check``,
``explain``, the DHCP engines, HTTP, TFTP and the API all call these
functions, so they decide the same thing.
"""
