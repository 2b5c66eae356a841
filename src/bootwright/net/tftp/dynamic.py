"""Files rendered per client and served over TFTP from memory (the same code HTTP uses).

A name that does not exist under the root is looked up here; if it is a
dynamic name, the rendered bytes are served through an in-memory
:class:`~bootwright.engine.tftp.source.InMemorySource`.  A real file with the
same name wins, so an operator can always override one machine by hand.

Served names (relative to the root, after remapping), decided and rendered by
the functions the HTTP service uses (:meth:`BootPolicy.decide`,
:mod:`bootwright.boot.ipxe`, :mod:`bootwright.boot.loaders`):

* ``boot.ipxe`` — the entry script (:func:`bootwright.boot.ipxe.render_entry_script`);
* ``boot/<mac>.ipxe`` — the per-host iPXE script, ``<mac>`` in any common
  spelling (``52-54-00-12-34-56`` as iPXE's ``${netX/mac:hexhyp}`` gives);
* every path in ``[http] scripts`` — the target or menu configured there,
  for the client whose MAC the neighbour table knows;
* ``pxelinux.cfg/01-<mac>`` and ``[dir/]grub.cfg-01-<mac>`` — the pxelinux
  and GRUB configs for the same decision; when the loader could boot nothing
  of it, "not found", so the loader falls back to its default config.

Scripts and configs point kernels and initrds at HTTP; TFTP serves them only
the small files.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Final

from bootwright.boot.ipxe import render_entry_script, render_script
from bootwright.boot.loaders import parse_config_path, render_config
from bootwright.boot.policy import ENTRY_SCRIPT, HOST_SCRIPT_PREFIX, BootPolicy, ServerContext
from bootwright.boot.reply import select_subnet4, select_subnet6, server_context
from bootwright.config import Config
from bootwright.model import ClientInfo, Family, InvalidMac, normalize_mac

__all__ = ["DynamicFiles"]

_IPXE_SUFFIX: Final = ".ipxe"


class DynamicFiles:
    """Renders the dynamic names listed in the module docstring."""

    def __init__(self, config: Config, policy: BootPolicy) -> None:
        """Use ``config`` and its compiled ``policy`` (``runtime.policy``, as the HTTP service does)."""
        self.config = config
        self.policy = policy
        self.scripts = dict(policy.scripts)  # http.scripts paths without the leading "/"

    def render(self, name: str, local_ip: str, mac: str | None) -> bytes | None:
        """The content of dynamic file ``name``, or ``None`` if it is not one (or renders to nothing).

        ``name`` is the sandboxed relative path, ``local_ip`` our address the
        request reached, ``mac`` the client's MAC from the neighbour table if
        known.  May raise :class:`bootwright.boot.ipxe.RenderError` for a broken
        user template.
        """
        if name == ENTRY_SCRIPT:
            return render_entry_script(self.context(local_ip)).encode()
        family: Family = 6 if ":" in local_ip else 4
        script = self.scripts.get(name)
        if script is not None:
            client = ClientInfo(family=family, mac=mac, user_classes=("iPXE",))
            host = self.policy.hosts.find(client) if mac else None
            return render_script(self.config, script, client, self.context(local_ip), host).encode()
        if name.startswith(HOST_SCRIPT_PREFIX) and name.endswith(_IPXE_SUFFIX):
            try:
                path_mac = normalize_mac(name[len(HOST_SCRIPT_PREFIX) : -len(_IPXE_SUFFIX)])
            except InvalidMac:
                return None
            client = ClientInfo(family=family, mac=path_mac, user_classes=("iPXE",))  # only iPXE asks
            ctx = self.context(local_ip)
            host = self.policy.hosts.find(client)
            target = self.policy.decide(client, ctx, host).script or self.config.boot.default
            return render_script(self.config, target, client, ctx, host).encode()
        loader = parse_config_path(name)
        if loader is not None:
            kind, path_mac = loader
            client = ClientInfo(family=family, mac=path_mac)
            ctx = self.context(local_ip)
            host = self.policy.hosts.find(client)
            target = self.policy.decide(client, ctx, host).script or self.config.boot.default
            text = render_config(kind, self.config, target, client, ctx, host)
            return text.encode() if text is not None else None
        return None

    def context(self, local_ip: str) -> ServerContext:
        """Our context for a request that reached ``local_ip`` (as the HTTP service builds it).

        The subnet is the one holding our local address; the address is the
        configured one for that subnet, else the local address itself.
        """
        local = local_ip.split("%", 1)[0]
        version = ipaddress.ip_address(local).version
        probe = ClientInfo(family=4 if version == 4 else 6)
        if version == 4:
            ctx = server_context(self.config, 4, select_subnet4(self.config, probe, None, hint=local))
        else:
            ctx = server_context(self.config, 6, select_subnet6(self.config, probe, None, hint=local))
        address = ctx.address
        if address is None or ipaddress.ip_address(address).version != version:
            ctx = replace(ctx, address=local)
        return ctx
