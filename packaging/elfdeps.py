"""What the Linux bundle needs from the system it runs on, read from its ELF files.

A PyInstaller bundle runs on a system whose glibc is at least as new as the newest
``GLIBC_x.y`` symbol version that *any* ELF file in it was linked against: the bootloader,
libpython, every extension module, Qt and each library copied from the build host. One
library copied from a new build host (Debian 12's ``libexpat.so.1`` needs GLIBC_2.36) is
enough to make the whole app fail to start on an older system. So the floor is computed,
never assumed:

- :func:`glibc_floor` reads the version-needs section (``.gnu.version_r``) of every ELF
  file in the bundle, the same data ``readelf --version-info`` and ``objdump -T`` show;
- :data:`DECLARED_GLIBC` is what the documentation and the release workflow promise;
  :func:`check` fails the build when the bundle needs more, and also when a library a
  bundled file links to is found neither in the bundle nor on the build host (a plugin
  shipped without its library);
- ``archives.py`` writes the computed floor into the ``.deb`` (``libc6 (>= x.y)``).

    python packaging/elfdeps.py check BUNDLE_DIR     # prints the floor; exit 1 on a problem
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

#: The oldest glibc the Linux artefacts promise: 2.35 is Ubuntu 22.04 LTS (Debian 12 has
#: 2.36, Fedora 36 2.35, RHEL 9 only 2.34). PySide6 6.11's wheels need 2.34
#: (manylinux_2_34); Python and the libraries copied from the build host decide the rest,
#: which is why the release workflow builds on ubuntu-22.04. Change the documentation
#: (docs/packaging.md) together with this value.
DECLARED_GLIBC = "2.35"
#: libstdc++ comes from the system too (HOST_LIBS in coscribe.spec): Ubuntu 22.04's (GCC 12)
#: provides symbol versions up to GLIBCXX_3.4.30.
DECLARED_GLIBCXX = "3.4.30"

_SHT_DYNAMIC = 6
_SHT_GNU_VERNEED = 0x6FFFFFFE
_VERSION = re.compile(rb"^([A-Z]+)_(\d+(?:\.\d+)+)$")


def parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def elf_files(root: Path) -> list[Path]:
    """Every regular ELF file under ``root`` (symlinks are counted once, as their target)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p))


def _sections(data: bytes) -> tuple[str, list[tuple[int, ...]]]:
    """Byte order and the section headers (name type flags addr offset size link info align
    entsize) of an ELF image."""
    if data[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    order = "<" if data[5] == 1 else ">"
    if data[4] == 2:  # ELFCLASS64
        shoff = struct.unpack_from(order + "Q", data, 0x28)[0]
        shentsize, shnum = struct.unpack_from(order + "HH", data, 0x3A)
        layout = order + "IIQQQQIIQQ"
    else:
        shoff = struct.unpack_from(order + "I", data, 0x20)[0]
        shentsize, shnum = struct.unpack_from(order + "HH", data, 0x2E)
        layout = order + "IIIIIIIIII"
    return order, [struct.unpack_from(layout, data, shoff + i * shentsize) for i in range(shnum)]


def _string(data: bytes, offset: int) -> bytes:
    return data[offset : data.index(b"\0", offset)]


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED entries of ``path``: the libraries it links to directly."""
    data = path.read_bytes()
    order, sections = _sections(data)
    wide = data[4] == 2
    entry = order + ("qQ" if wide else "iI")
    size = struct.calcsize(entry)
    names = []
    for _name, kind, _flags, _addr, offset, length, link, _info, _align, _entsize in sections:
        if kind != _SHT_DYNAMIC:
            continue
        strings = sections[link][4]
        for at in range(offset, offset + length, size):
            tag, value = struct.unpack_from(entry, data, at)
            if tag == 0:  # DT_NULL
                break
            if tag == 1:  # DT_NEEDED
                names.append(_string(data, strings + value).decode())
    return names


def glibc_versions(path: Path, prefix: str = "GLIBC") -> set[str]:
    """The ``GLIBC_x.y`` versions ``path`` needs (from libc, libm, libpthread, ld.so...);
    with ``prefix="GLIBCXX"`` those it needs from the C++ runtime, libstdc++."""
    data = path.read_bytes()
    order, sections = _sections(data)
    found: set[str] = set()
    for _name, kind, _flags, _addr, offset, _size, link, count, _align, _entsize in sections:
        if kind != _SHT_GNU_VERNEED:
            continue
        strings = sections[link][4]  # offset of the linked string table (.dynstr)
        entry = offset
        for _ in range(count):  # Elf_Verneed: version, cnt, file, aux, next (same on 32/64)
            _version, aux_count, _file, aux, following = struct.unpack_from(
                order + "HHIII", data, entry
            )
            item = entry + aux
            for _ in range(aux_count):  # Elf_Vernaux: hash, flags, other, name, next
                _hash, _flags2, _other, name, next_aux = struct.unpack_from(
                    order + "IHHII", data, item
                )
                match = _VERSION.match(_string(data, strings + name))
                if match and match.group(1).decode() == prefix:
                    found.add(match.group(2).decode())
                item += next_aux
                if not next_aux:
                    break
            entry += following
            if not following:
                break
    return found


def glibc_needs(root: Path, prefix: str = "GLIBC") -> dict[Path, str]:
    """For every ELF file under ``root`` that needs glibc symbol versions: the newest one."""
    needs = {}
    for path in elf_files(root):
        versions = glibc_versions(path, prefix)
        if versions:
            needs[path] = max(versions, key=parse_version)
    return needs


def glibc_floor(root: Path, prefix: str = "GLIBC") -> str:
    """The oldest glibc every ELF file under ``root`` can run on (or, with
    ``prefix="GLIBCXX"``, the newest libstdc++ symbol version any of them needs)."""
    needs = glibc_needs(root, prefix)
    return max(needs.values(), key=parse_version) if needs else "0"


def unresolved(bundle: Path) -> dict[Path, set[str]]:
    """Libraries that bundled ELF files link to but that neither the bundle nor this system
    has, resolved like at run time (the PyInstaller bootloader puts ``_internal`` first)."""
    env = dict(os.environ, LD_LIBRARY_PATH=str(bundle / "_internal"))
    missing: dict[Path, set[str]] = {}
    for path in elf_files(bundle):
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env).stdout
        names = set(re.findall(r"^\s*(\S+) => not found", out, re.MULTILINE))
        if names:
            missing[path] = names
    return missing


def check(
    bundle: Path, declared: str = DECLARED_GLIBC, declared_cxx: str = DECLARED_GLIBCXX
) -> list[str]:
    """Problems that must fail the build (an empty list when there are none)."""
    problems = []
    for prefix, floor in (("GLIBC", declared), ("GLIBCXX", declared_cxx)):
        for path, version in sorted(glibc_needs(bundle, prefix).items()):
            if parse_version(version) > parse_version(floor):
                problems.append(
                    f"{path.relative_to(bundle)} needs {prefix}_{version}, newer than the "
                    f"declared floor {prefix}_{floor}: build on an older system, or leave this "
                    "library to the host (HOST_LIBS in coscribe.spec)"
                )
    for path, names in sorted(unresolved(bundle).items()):
        problems.append(
            f"{path.relative_to(bundle)} links to {', '.join(sorted(names))}, which is neither "
            "in the bundle nor installed here (install its package on the build host, or drop "
            "the file, or keep its library)"
        )
    return problems


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "check":
        bundle = Path(argv[1])
        problems = check(bundle)
        for problem in problems:
            print(f"elfdeps: {problem}", file=sys.stderr)
        if problems:
            return 1
        print(glibc_floor(bundle))
        return 0
    if len(argv) == 2 and argv[0] == "floor":
        print(glibc_floor(Path(argv[1])))
        return 0
    print("usage: elfdeps.py check|floor BUNDLE_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
