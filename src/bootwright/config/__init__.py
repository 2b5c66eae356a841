"""The one configuration model: a TOML file validated on load.

``load_config(path)`` returns a frozen :class:`Config` or raises
:class:`ConfigError` whose ``problems`` each name the file, the key path
(``subnet4[0].pools[0]``) and what is wrong, so the CLI can print them and
exit 2 without a traceback. The layout of the file is documented in
``docs/configuration.md``; every seed set-up has an example in ``examples/``.

Three modules, one direction: :mod:`.model` (the sections as pydantic models
and the per-field rules), :mod:`.checks` (what needs several fields at once)
and :mod:`.load` (files and text into the model, problems with line numbers).
Everything is imported from here, ``bootwright.config``.
"""

from bootwright.config.checks import (
    POOL_MEMBERS,
    address_problem,
    check_match_values,
    check_paths,
    check_placeholders,
    check_semantics,
    event_patterns,
    ip_text,
    match_octets,
    menu_default_problem,
    pool_permits,
)
from bootwright.config.load import (
    LoadedConfig,
    key_lines,
    line_of,
    load_config,
    parse_config,
    parse_model,
    pydantic_problems,
    read_config,
    relative_to,
    with_lines,
)
from bootwright.config.model import (
    BOOTFILE_PLACEHOLDERS,
    HOST_NAME,
    HOST_NAME_RULE,
    IPMI_CIPHER_SUITES,
    REDFISH_SYSTEMS,
    SERVER_OPTIONS,
    SERVER_OPTIONS6,
    ApiSection,
    ApiUser,
    BmcEntry,
    BootSection,
    Config,
    ConfigError,
    DdnsSection,
    Dhcp4Common,
    Dhcp4Section,
    Dhcp6Common,
    Dhcp6Section,
    Hook,
    HostEntry,
    HttpSection,
    IntList,
    Mac,
    MacList,
    Menu,
    MenuItem,
    NfsExport,
    NfsSection,
    PdPool,
    Pool4,
    Pool6,
    Problem,
    RouterAdvert,
    Rule,
    RuleMatch,
    Seconds,
    Section,
    ServerSection,
    StrList,
    Subnet4,
    Subnet6,
    SyslogSection,
    Target,
    TargetVariant,
    TftpSection,
    TsigAlgorithm,
    alias_problem,
    alias_segments,
    option6_problem,
    option_problem,
)

__all__ = [
    "BOOTFILE_PLACEHOLDERS", "HOST_NAME", "HOST_NAME_RULE", "IPMI_CIPHER_SUITES", "POOL_MEMBERS", "REDFISH_SYSTEMS",
    "SERVER_OPTIONS", "SERVER_OPTIONS6", "ApiSection", "ApiUser", "BmcEntry", "BootSection", "Config", "ConfigError",
    "DdnsSection", "Dhcp4Common", "Dhcp4Section", "Dhcp6Common", "Dhcp6Section", "Hook", "HostEntry", "HttpSection",
    "IntList", "LoadedConfig", "Mac", "MacList", "Menu", "MenuItem", "NfsExport", "NfsSection", "PdPool", "Pool4",
    "Pool6", "Problem", "RouterAdvert", "Rule", "RuleMatch", "Seconds", "Section", "ServerSection", "StrList",
    "Subnet4", "Subnet6", "SyslogSection", "Target", "TargetVariant", "TftpSection", "TsigAlgorithm",
    "address_problem", "alias_problem", "alias_segments", "check_match_values", "check_paths", "check_placeholders",
    "check_semantics", "event_patterns", "ip_text", "key_lines", "line_of", "load_config", "match_octets",
    "menu_default_problem", "option6_problem", "option_problem", "parse_config", "parse_model", "pool_permits",
    "pydantic_problems", "read_config", "relative_to", "with_lines",
]  # fmt: skip
