"""Kea ``option-data`` entries as bootwright option texts, iPXE settings and boot rules (pure).

Part of the Kea importer (:mod:`.kea`). :meth:`KeaOptions.option` reads one
entry by name or code (the ``dhcp4``/``dhcp6`` space, with the file's own
``option-def`` names) into bootwright's text for that option;
:meth:`KeaOptions.ipxe_part` sends option 175 and its ``ipxe`` space to
``ipxe`` settings; :meth:`KeaOptions.options` writes a global or subnet
``option-data`` list, the boot options (59, 60, 66, 67) becoming non-final
rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bootwright.config import option_problem
from bootwright.inventory.dhcpd_options import DHCPD_OPTIONS, DhcpdValue, to_text
from bootwright.migrate.kea_json import Obj
from bootwright.migrate.kea_state import KeaState
from bootwright.wire.ipxe_options import (
    IPXE_OPTIONS_BY_CODE,
    IPXE_OPTIONS_BY_NAME,
    decode_ipxe_value,
    encode_ipxe_value,
)

# Kea's DHCPv6 option names (Kea ARM "DHCPv6 Standard Options") the importer reads.
OPTIONS6 = {
    "dns-servers": 23,
    "domain-search": 24,
    "preference": 7,
    "information-refresh-time": 32,
    "sntp-servers": 31,
    "bootfile-url": 59,
    "bootfile-param": 60,
    "vendor-class": 16,
    "user-class": 15,
}


class KeaOptions(KeaState):
    """Reading ``option-data``: one entry, the iPXE ones, a global or subnet list."""

    def option(self, opt: Any, where: Obj) -> tuple[int, str] | None:
        """(code, bootwright text) of one option-data entry, or None after a finding."""
        if not isinstance(opt, Obj):
            return None
        space = opt.get("space", f"dhcp{self.v}")
        name, code = opt.get("name"), opt.get("code")
        if space != f"dhcp{self.v}":
            self.note(
                opt,
                "space",
                "untranslated",
                "options of another space (vendor, encapsulated): set dhcp4.ipxe or the option by hand",
            )
            return None
        kind = None
        if code is None and isinstance(name, str):
            if name in self.defs:
                code, kind = self.defs[name]
            elif self.family == 4 and name in DHCPD_OPTIONS:
                code, kind = DHCPD_OPTIONS[name]
            elif self.family == 6 and name in OPTIONS6:
                code = OPTIONS6[name]
        if not isinstance(code, int):
            self.note(opt, "name", "untranslated", "an option the importer does not know by name: give its code")
            return None
        if kind is None and self.family == 4:
            kind = next((k for c, k in DHCPD_OPTIONS.values() if c == code), None)
        data = str(opt.get("data", ""))
        try:
            if not opt.get("csv-format", True):
                raw = bytes.fromhex(data.replace(":", "").replace(" ", ""))
                text = raw.hex(":") if self.family == 6 or code not in (60, 66, 67) else raw.decode()
                if self.family == 4 and kind is not None:
                    text = to_text(code, "hex", DhcpdValue(((text, False),)))
            elif self.family == 4 and kind is not None:
                words = tuple((w.strip(), kind == "text") for w in ([data] if kind == "text" else data.split(",")))
                text = to_text(code, kind, DhcpdValue(words))
            else:
                text = data
        except ValueError as exc:
            self.note(opt, "data", "untranslated", f"not a value for option {code}: {exc}")
            return None
        if self.family == 4:
            problem = option_problem(str(code), text)
            if problem:
                self.note(opt, "data", "untranslated", problem)
                return None
        if opt.get("always-send"):
            self.note(opt, "always-send", "approximated", "bootwright sends configured options in every reply")
        return code, text

    def ipxe_part(self, opt: Any, into: dict[str, Any]) -> bool:
        """True when ``opt`` is option 175 or one of its sub-options (the ``ipxe`` space); they go to ``into["ipxe"]``.

        The container (``ipxe-encap-opts``, type ``empty``) carries nothing itself: bootwright sends option 175
        whenever ipxe settings apply.
        """
        if not isinstance(opt, Obj) or self.family != 4:
            return False
        name, code = opt.get("name"), opt.get("code")
        if opt.get("space", "dhcp4") == "dhcp4":
            if name in self.ipxe_encap or (code == 175 and not opt.get("data")):
                self.out.translated += 1
                return True
            return False
        if opt.get("space") != "ipxe":
            return False
        if not isinstance(code, int) and isinstance(name, str):
            known = IPXE_OPTIONS_BY_NAME.get(name)
            code = self.ipxe_defs.get(name, known.code if known else None)
        if not isinstance(code, int):
            self.note(opt, "name", "untranslated", "an iPXE option the importer does not know by name: give its code")
            return True
        data = str(opt.get("data", ""))
        try:
            raw = (
                bytes.fromhex(data.replace(":", "").replace(" ", ""))
                if not opt.get("csv-format", True)
                else encode_ipxe_value(code, data)
            )
        except ValueError as exc:
            self.note(opt, "data", "untranslated", f"not a value for iPXE option {code}: {exc}")
            return True
        known = IPXE_OPTIONS_BY_CODE.get(code)
        into.setdefault("ipxe", {})[known.name if known else str(code)] = decode_ipxe_value(code, raw)
        self.out.translated += 1
        return True

    def option_data(self, entries: Any, into: dict[str, Any], where: Obj) -> Iterator[tuple[Any, int, str]]:
        """Each ``option-data`` entry read as (entry, code, text); iPXE's go to ``into`` (:meth:`ipxe_part`)
        and those :meth:`option` cannot read are noted, neither is yielded."""
        for opt in entries if isinstance(entries, list) else []:
            if self.ipxe_part(opt, into):
                continue
            found = self.option(opt, where)
            if found is not None:
                yield opt, *found

    def options(self, table: dict[str, Any], entries: Any, where: Obj) -> None:
        """Global or subnet option-data into ``table`` (named keys where bootwright has them)."""
        named4 = {3: "routers", 6: "dns", 42: "ntp_servers", 119: "domain_search"}
        named6 = {23: "dns", 24: "domain_search"}
        for _, code, text in self.option_data(entries, table, where):
            items = [t.strip() for t in text.split(",")]
            if self.family == 4 and code in named4:
                table[named4[code]] = items
            elif self.family == 4 and code == 15:
                table["domain_name"] = text
            elif self.family == 6 and code in named6:
                table[named6[code]] = items
            elif self.family == 6 and code in (7, 32):
                table["preference" if code == 7 else "info_refresh_time"] = int(text)
            elif code in (59, 67) or (self.family == 4 and code in (60, 66)):
                field = {59: "bootfile", 67: "bootfile", 60: "vendor_class", 66: "tftp_server"}[code]
                match: dict[str, Any] = {"family": self.family}
                if "subnet" in table or "prefix" in table:
                    match["subnet"] = [table.get("subnet") or table["prefix"]]
                self.boot_rules.append(
                    {"name": f"option-{code}-{len(self.boot_rules) + 1}", "match": match, field: text, "final": False}
                )
            else:
                table.setdefault("options", {})[str(code)] = text
            self.out.translated += 1
