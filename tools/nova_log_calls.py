"""Extract nova's log calls per release into nsim/data/nova_log_calls.json.gz (run by hand).

    .venv/bin/python tools/nova_log_calls.py [--cache DIR] [--out FILE] [--readme README.md]

For every release from Ocata (nova 15) on, `pip download`s the last patch release of nova, and
of oslo.concurrency and os-vif as that series shipped them, into a cache directory, then walks
the sources of the boot, delete, resource-audit and image-cache paths with `ast` and records each
LOG.<level>() call: the format string, level, file, line and enclosing function. Exception
message formats (`msg_fmt` in nova/exception.py), which nova logs through `format_message()`,
are recorded with level "msg_fmt". Only these facts are written, never nova code.

The same pass builds nsim/data/nova_translations.json.gz from the .po files nova ships: for
every msgid that a catalog wording matches, the translated msgstr per language. With
--readme, the catalog coverage table in README.md is rewritten (nsim.events.source_coverage).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nsim.events.catalog import KINDS  # noqa: E402
from nsim.events.coverage import write_readme_table  # noqa: E402
from nsim.events.source import (  # noqa: E402
    CALLS_PATH,
    TRANSLATIONS_PATH,
    Call,
    ReleaseExtract,
    load_calls,
    matches,
    write_calls,
    write_translations,
)

# release -> (nova, oslo.concurrency, os-vif): nova's last patch release of the series; the
# libraries at (about) the version of the series' upper-constraints. The lock and subprocess
# wordings changed at oslo.concurrency 4.5.0 (Xena) and 5.0.0 (Zed).
VERSIONS: dict[str, tuple[str, str, str]] = {
    "ocata": ("15.1.5", "3.18.1", "1.4.0"),
    "pike": ("16.1.8", "3.21.2", "1.7.0"),
    "queens": ("17.0.13", "3.25.1", "1.9.2"),
    "rocky": ("18.3.0", "3.27.0", "1.11.2"),
    "stein": ("19.3.2", "3.29.1", "1.15.2"),
    "train": ("20.6.1", "3.30.1", "1.17.0"),
    "ussuri": ("21.2.4", "4.0.3", "2.0.1"),
    "victoria": ("22.4.0", "4.3.1", "2.2.1"),
    "wallaby": ("23.2.2", "4.4.1", "2.4.1"),
    "xena": ("24.2.1", "4.5.0", "2.6.1"),
    "yoga": ("25.3.0", "4.5.1", "2.7.2"),
    "zed": ("26.3.0", "5.0.1", "3.0.0"),
    "2023.1": ("27.5.1", "5.1.1", "3.1.1"),
    "2023.2": ("28.3.1", "5.2.0", "3.2.0"),
    "2024.1": ("29.4.0", "6.0.0", "3.5.0"),
    "2024.2": ("30.3.0", "6.1.0", "3.7.1"),
    "2025.1": ("31.3.1", "7.1.0", "4.0.0"),
    "2025.2": ("32.2.1", "7.2.0", "4.2.1"),
    "2026.1": ("33.0.2", "7.4.1", "4.3.1"),
    "2026.2": ("34.0.0", "7.6.1", "5.3.0"),
}

# Files read, and for each the functions that belong to the boot, delete, resource-audit and
# image-cache paths ("*" = the whole file). Files with no path functions are read so that
# catalog wordings logged from them can be checked, but their calls are not counted.
PATH_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "nova/compute/manager.py": (
        "build_and_run_instance", "_locked_do_build_and_run_instance",
        "_do_build_and_run_instance", "_build_and_run_instance", "_build_resources",
        "_allocate_network_async", "_allocate_network", "_build_networks_for_instance",
        "_prep_block_device", "_default_block_device_names", "_update_instance_after_spawn",
        "_cleanup_allocated_networks", "_cleanup_build_artifacts", "_cleanup_build_resources",
        "_reschedule_or_error", "_set_instance_obj_error_state", "_build_failed",
        "_build_succeeded", "_validate_instance_group_policy", "_check_trusted_certs",
        "_shutdown_instance", "_delete_instance", "terminate_instance", "do_terminate_instance",
        "_cleanup_volumes", "_try_deallocate_network", "_deallocate_network",
        "_complete_deletion", "_complete_partial_deletion", "_init_instance",
        "handle_lifecycle_event", "handle_events", "_sync_instance_power_state",
        "_sync_power_states", "_query_driver_power_state_and_sync", "_sync",
        "_run_image_cache_manager_pass", "update_available_resource",
        "update_available_resource_for_node", "external_instance_event",
        "_process_instance_event", "_process_instance_vif_deleted_event",
        "prepare_for_instance_event", "pop_instance_event", "wait_for_instance_event",
        "_get_power_state", "_await_block_device_map_created", "_heal_instance_info_cache",
        "reboot_instance", "bad_volumes_callback", "stop_instance", "do_stop_instance",
        "start_instance", "_power_on", "_power_off_instance", "_reclaim_queued_deletes",
        "_cleanup_running_deleted_instances", "_destroy_evacuated_instances",
        "_retry_reboot", "_notify_about_instance_usage", "_instance_update",
        "_require_nw_info_update", "_error_out_instance_on_exception",
        "_poll_shelved_instances", "_check_instance_build_time",
        "_sync_scheduler_instance_info", "_update_scheduler_instance_info",
    ),
    "nova/compute/claims.py": ("*",),
    "nova/compute/resource_tracker.py": ("*",),
    "nova/compute/utils.py": (
        "add_instance_fault_from_exc", "_get_fault_details", "notify_about_instance_usage",
        "get_device_name_for_instance", "default_device_names_for_instance",
    ),
    "nova/virt/libvirt/driver.py": (
        "spawn", "_create_image", "_create_and_inject_local_root", "_try_fetch_image_cache",
        "_create_ephemeral", "_create_swap", "_create_configdrive", "_inject_data",
        "_create_domain_and_network", "_create_guest_with_network", "_create_domain",
        "_create_guest", "_get_guest_xml", "_ensure_console_log_for_instance",
        "_wait_for_boot", "destroy", "_destroy", "_wait_for_destroy", "cleanup", "_cleanup",
        "delete_instance_files", "_undefine_domain", "plug_vifs", "unplug_vifs",
        "_unplug_vifs", "_neutron_failed_callback", "_get_neutron_events",
        "_cleanup_failed_start", "_cleanup_lvm", "_cleanup_rbd", "_cleanup_target",
        "_delete_instance_files", "_get_disk_over_committed_size_total",
        "get_available_resource", "_get_vcpu_total", "_get_vcpu_used", "_get_vcpu_available",
        "_get_memory_mb_total", "_get_memory_mb_used", "_get_local_gb_info",
        "manage_image_cache", "reboot", "_soft_reboot", "_hard_reboot", "power_off",
        "power_on", "_clean_shutdown", "instance_exists", "get_info", "_create_images_and_backing",
        "_chown_disk_config_for_instance", "_chown_console_log_for_instance",
        "_create_consoles", "_get_guest_config", "_prepare_domain_for_snapshot",
        "_is_storage_shared_with", "_disconnect_volume", "_connect_volume",
        "emit_event", "_handle_live_migration_post_copy",
    ),
    "nova/virt/libvirt/imagecache.py": ("*",),
    "nova/virt/libvirt/imagebackend.py": ("*",),
    "nova/virt/libvirt/utils.py": (
        "create_image", "create_cow_image", "create_lvm_image", "get_disk_backing_file",
        "copy_image", "fetch_image", "fetch_raw_image", "write_to_file", "chown",
        "get_instance_path", "get_disk_size", "get_disk_type_from_path",
    ),
    "nova/virt/libvirt/guest.py": ("launch", "create", "poweroff", "shutdown", "resume",
                                   "pause", "delete_configuration", "get_power_state",
                                   "sync_guest_time"),
    "nova/virt/libvirt/host.py": (
        "_event_lifecycle_callback", "_event_emit_delayed", "_event_emit", "_queue_event",
        "_dispatch_events", "_dispatch_thread", "_init_events", "_native_thread",
        "_event_device_removed_callback", "emit_event", "_get_domain", "get_guest",
        "write_instance_config", "get_connection", "_get_connection",
    ),
    "nova/virt/libvirt/firewall.py": ("*",),
    "nova/virt/libvirt/vif.py": ("plug", "unplug", "plug_ovs", "unplug_ovs", "_plug_os_vif",
                                 "_unplug_os_vif", "plug_bridge", "unplug_bridge"),
    "nova/virt/libvirt/storage/*.py": ("*",),
    "nova/virt/images.py": ("*",),
    "nova/virt/imagecache.py": ("*",),
    "nova/virt/firewall.py": ("*",),
    "nova/virt/driver.py": ("emit_event",),
    "nova/virt/disk/api.py": ("*",),
    "nova/network/neutronv2/api.py": (
        "allocate_for_instance", "_create_port", "_create_port_minimal", "_create_ports_for_instance",
        "_update_port", "_update_ports_for_instance", "_update_port_binding_for_instance",
        "_populate_neutron_extension_values", "_check_external_network_attach",
        "deallocate_for_instance", "_delete_ports", "_unbind_ports", "get_instance_nw_info",
        "_get_instance_nw_info", "_build_network_info_model", "_gather_port_ids_and_networks",
        "_process_requested_networks", "_validate_requested_port_ids", "_get_available_networks",
        "_refresh_neutron_extensions_cache", "_cleanup_created_port",
        "_get_preexisting_port_ids", "setup_networks_on_host", "_build_vif_model",
        "_clean_security_groups", "_process_security_groups",
    ),
    "nova/network/neutron.py": (
        "allocate_for_instance", "_create_port", "_create_port_minimal", "_create_ports_for_instance",
        "_update_port", "_update_ports_for_instance", "_update_port_binding_for_instance",
        "_populate_neutron_extension_values", "_check_external_network_attach",
        "deallocate_for_instance", "_delete_ports", "_unbind_ports", "get_instance_nw_info",
        "_get_instance_nw_info", "_build_network_info_model", "_gather_port_ids_and_networks",
        "_process_requested_networks", "_validate_requested_port_ids", "_get_available_networks",
        "_refresh_neutron_extensions_cache", "_cleanup_created_port",
        "_get_preexisting_port_ids", "setup_networks_on_host", "_build_vif_model",
        "_clean_security_groups", "_process_security_groups",
        "update_instance_cache_with_nw_info",
    ),
    "nova/network/base_api.py": ("update_instance_cache_with_nw_info",),
    "nova/image/glance.py": ("download", "show", "_reraise_translated_image_exception",
                             "_translate_image_exception", "call", "_get_transfer_method",
                             "_safe_fsync", "_verify_and_write"),
    "nova/exception.py": (),
    "nova/scheduler/client/report.py": ("delete_allocation_for_instance",),
    "nova/virt/hardware.py": (),
    "nova/utils.py": ("supports_direct_io",),
    "nova/filesystem.py": ("supports_direct_io",),
    "nova/privsep/utils.py": ("supports_direct_io",),
    "oslo_concurrency/lockutils.py": ("*",),
    "oslo_concurrency/processutils.py": ("execute",),
    "os_vif/__init__.py": ("plug", "unplug"),
}

LEVELS = {"debug": "DEBUG", "info": "INFO", "warning": "WARNING", "warn": "WARNING",
          "error": "ERROR", "exception": "ERROR", "critical": "CRITICAL", "audit": "AUDIT"}
TRANSLATORS = {"_", "_LI", "_LW", "_LE", "_LC"}


# -- download ----------------------------------------------------------------------------------

def download(project: str, version: str, cache: Path) -> Path:
    """The cached wheel or sdist of project==version, fetched with pip if missing."""
    norm = project.replace(".", "_").replace("-", "_").lower()
    for found in cache.iterdir():
        name = found.name.lower().replace("-", "_").replace(".", "_")
        if name.startswith(f"{norm}_{version.replace('.', '_')}_"):
            return found
    subprocess.run([sys.executable, "-m", "pip", "download", f"{project}=={version}",
                    "--no-deps", "-d", str(cache), "-q"], check=True)
    return download(project, version, cache)


def archive_files(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(path inside the package tree, content) for every .py and .po file of a wheel or sdist."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                if name.endswith((".py", ".po")):
                    yield name, z.read(name)
        return
    with tarfile.open(archive) as t:
        for member in t.getmembers():
            if member.isfile() and member.name.endswith((".py", ".po")):
                f = t.extractfile(member)
                if f is not None:
                    yield member.name.split("/", 1)[1], f.read()


# -- the AST walk ------------------------------------------------------------------------------

def _path_rule(path: str) -> tuple[str, ...] | None:
    for pattern, functions in PATH_FUNCTIONS.items():
        if fnmatch(path, pattern):
            return functions
    return None


def _strings(node: ast.AST | None, names: dict[str, list[str]]) -> list[str]:
    """The format strings an expression can be: literals, _()-wrapped, concatenated, f-strings,
    `x if c else y`, and local names bound to one of those."""
    if node is None:
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in TRANSLATORS and node.args:
            return _strings(node.args[0], names)
        if isinstance(func, ast.Attribute) and func.attr == "format":
            return _strings(func.value, names)
        # A wrapper of the message: strutils.mask_password(...), str(...), six.text_type(...).
        return _strings(node.args[0], names) if node.args else []
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mod):
            return _strings(node.left, names)
        if isinstance(node.op, ast.Add):
            left, right = _strings(node.left, names), _strings(node.right, names)
            return [a + b for a in left for b in right]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
            else:
                parts.append("{}")
        return ["".join(parts)]
    if isinstance(node, ast.IfExp):
        return _strings(node.body, names) + _strings(node.orelse, names)
    if isinstance(node, ast.Name):
        return names.get(node.id, [])
    return []


def _log_call(node: ast.Call) -> tuple[str, ast.expr] | None:
    """(level, message expression) of a LOG.<level>(msg, ...) or LOG.log(level, msg, ...) call.
    A level given by a variable (processutils' `loglevel`) is recorded as "*"."""
    func = node.func
    if not isinstance(func, ast.Attribute):
        return None
    target = func.value
    name = target.id if isinstance(target, ast.Name) else (
        target.attr if isinstance(target, ast.Attribute) else None)
    if name not in ("LOG", "log", "logger", "LOGGER"):
        return None
    if func.attr in LEVELS and node.args:
        return LEVELS[func.attr], node.args[0]
    if func.attr == "log" and len(node.args) >= 2:
        level = node.args[0]
        known = level.attr.lower() if isinstance(level, ast.Attribute) else ""
        return LEVELS.get(known, "*"), node.args[1]
    return None


class _Walker(ast.NodeVisitor):
    def __init__(self, path: str, functions: tuple[str, ...]) -> None:
        self.path = path
        self.functions = functions
        self.stack: list[str] = []
        self.names: list[dict[str, list[str]]] = [{}]
        self.calls: list[Call] = []

    def _in_path(self) -> bool:
        if "*" in self.functions:
            return True
        return any(part in self.functions for part in self.stack)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.stack.append(node.name)
        self.names.append({})
        self.generic_visit(node)
        self.names.pop()
        self.stack.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if self.path == "nova/exception.py":
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                        and isinstance(stmt.targets[0], ast.Name)
                        and stmt.targets[0].id == "msg_fmt"):
                    for fmt in _strings(stmt.value, {}):
                        self.calls.append(Call(fmt, "msg_fmt", self.path, stmt.lineno,
                                               node.name, False))
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        found = _strings(node.value, self.names[-1])
        if found:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.names[-1][target.id] = found
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        found = _log_call(node)
        if found is not None:
            level, message = found
            function = ".".join(self.stack) or "<module>"
            for fmt in _strings(message, self.names[-1]):
                self.calls.append(Call(fmt, level, self.path, node.lineno, function,
                                       self._in_path()))
        self.generic_visit(node)


def _parse(source: bytes, path: str) -> ast.Module:
    """Parse a module; code from before Python 3.7 may use `async` as a name."""
    try:
        return ast.parse(source, filename=path)
    except SyntaxError:
        text = re.sub(r"\basync\b", "async_", source.decode())
        return ast.parse(text, filename=path)


def extract(files: dict[str, bytes]) -> list[Call]:
    """The log calls of the files PATH_FUNCTIONS names."""
    calls: list[Call] = []
    for path in sorted(files):
        functions = _path_rule(path)
        if functions is None or not path.endswith(".py"):
            continue
        walker = _Walker(path, functions)
        walker.visit(_parse(files[path], path))
        calls.extend(walker.calls)
    return calls


# -- translations ------------------------------------------------------------------------------

_PO_ENTRY = re.compile(r'^(msgid|msgstr|msgctxt)\s+"(.*)"\s*$')


def _po_unescape(text: str) -> str:
    return json.loads(f'"{text}"')


def parse_po(data: bytes) -> dict[str, str]:
    """msgid -> msgstr of a .po file (fuzzy and empty translations dropped)."""
    out: dict[str, str] = {}
    key = None
    cur: dict[str, str] = {}
    fuzzy = False

    def flush() -> None:
        msgid, msgstr = cur.get("msgid"), cur.get("msgstr")
        if msgid and msgstr and not fuzzy:
            out[msgid] = msgstr

    for line in [*data.decode("utf-8", "replace").splitlines(), ""]:
        line = line.strip()
        if not line:
            flush()
            cur, key, fuzzy = {}, None, False
            continue
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
            continue
        if line.startswith("#"):
            continue
        m = _PO_ENTRY.match(line)
        if m:
            key = m.group(1)
            cur[key] = _po_unescape(m.group(2))
        elif line.startswith('"') and key is not None:
            cur[key] += _po_unescape(line[1:-1])
    return out


# nova/virt/event.py names its lifecycle transitions with _(): they are translated inside
# "VM %(state)s (Lifecycle Event)".
EVENT_NAMES = {"Started", "Stopped", "Paused", "Resumed", "Suspended", "Postcopy started",
               "Migration completed"}


def _typed_anywhere(msgid: str, templates: list[str]) -> bool:
    return any(matches(t, msgid) for t in templates)


def translations(po_files: dict[str, bytes], templates: list[str]) -> dict[str, dict[str, str]]:
    """language -> {English msgid: translation} for the msgids a catalog wording matches
    and the lifecycle event names."""
    out: dict[str, dict[str, str]] = {}
    for path, data in po_files.items():
        lang = path.split("/")[2]
        for msgid, msgstr in parse_po(data).items():
            if msgstr != msgid and (msgid in EVENT_NAMES or _typed_anywhere(msgid, templates)):
                out.setdefault(lang, {})[msgid] = msgstr
    return out


# -- main --------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "nsim-nova")
    parser.add_argument("--out", type=Path, default=CALLS_PATH)
    parser.add_argument("--translations", type=Path, default=TRANSLATIONS_PATH)
    parser.add_argument("--readme", type=Path, help="rewrite the catalog coverage table here")
    parser.add_argument("--release", action="append", help="only these releases")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)

    extracts: dict[str, ReleaseExtract] = {}
    if args.release and args.out.exists():
        extracts = load_calls(args.out)
    po_files: dict[str, dict[str, bytes]] = {}
    for release, (nova, oslo, vif) in VERSIONS.items():
        if args.release and release not in args.release:
            continue
        files: dict[str, bytes] = {}
        versions = {"nova": nova, "oslo.concurrency": oslo, "os-vif": vif}
        for project, version in versions.items():
            for path, data in archive_files(download(project, version, args.cache)):
                files[path] = data
        calls = extract(files)
        extracts[release] = ReleaseExtract(release, versions, calls)
        po_files[release] = {p: d for p, d in files.items()
                             if p.startswith("nova/locale/") and p.endswith(".po")}
        print(f"{release}: nova {nova}, {len(calls)} calls, "
              f"{sum(c.path for c in calls)} on the paths, {len(po_files[release])} .po files",
              file=sys.stderr)
    write_calls(args.out, extracts)
    templates = [w.template for cls in KINDS.values() for w in cls.wordings]
    merged: dict[str, dict[str, str]] = {}
    for pos in po_files.values():
        for lang, table in translations(pos, templates).items():
            merged.setdefault(lang, {}).update(table)
    if merged:
        write_translations(args.translations, merged)
    if args.readme:
        write_readme_table(args.readme)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
