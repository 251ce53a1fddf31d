"""Writes Android binary XML (the compiled form of AndroidManifest.xml inside an APK).

Real APKs carry their manifest compiled by aapt; Python has no encoder for that format, and a
checked-in binary fixture would hide what it contains. This small encoder writes the chunks
Android's own parser reads (string pool, resource map, namespace and element events), so the
tests can build an APK with exactly the package name, versions and SDK levels they assert on.

Layout of a chunk: u16 type, u16 header size, u32 total size, then the header's own fields
and the body, all little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

ANDROID_NS = "http://schemas.android.com/apk/res/android"

# android:* attribute resource ids (android.R.attr): the platform matches attributes by id,
# not by name, so parsers look them up in the resource map.
ANDROID_ATTR_IDS = {
    "name": 0x01010003,
    "minSdkVersion": 0x0101020C,
    "versionCode": 0x0101021B,
    "versionName": 0x0101021C,
    "targetSdkVersion": 0x01010270,
}

RES_STRING_POOL = 0x0001
RES_XML = 0x0003
RES_XML_START_NAMESPACE = 0x0100
RES_XML_END_NAMESPACE = 0x0101
RES_XML_START_ELEMENT = 0x0102
RES_XML_END_ELEMENT = 0x0103
RES_XML_RESOURCE_MAP = 0x0180

TYPE_STRING = 0x03
TYPE_INT_DEC = 0x10
NO_INDEX = 0xFFFFFFFF


@dataclass
class Element:
    name: str
    # (namespace uri or None, name, value): an int value is written as a decimal integer.
    attrs: list[tuple[str | None, str, str | int]] = field(default_factory=list)
    children: list["Element"] = field(default_factory=list)


class _Strings:
    """The string pool; android attribute names first, as the resource map requires."""

    def __init__(self, resource_names: list[str]):
        self.items: list[str] = []
        self.index: dict[str, int] = {}
        for name in resource_names:
            self.add(name)

    def add(self, s: str) -> int:
        if s not in self.index:
            self.index[s] = len(self.items)
            self.items.append(s)
        return self.index[s]

    def chunk(self) -> bytes:
        data = b""
        offsets = []
        for s in self.items:
            offsets.append(len(data))
            encoded = s.encode("utf-16-le")
            data += struct.pack("<H", len(s)) + encoded + b"\x00\x00"
        data += b"\x00" * (-len(data) % 4)
        header_size = 28
        strings_start = header_size + 4 * len(offsets)
        body = b"".join(struct.pack("<I", o) for o in offsets) + data
        header = struct.pack(
            "<HHIIIIII",
            RES_STRING_POOL,
            header_size,
            header_size + len(body),
            len(self.items),
            0,  # style count
            0,  # flags: UTF-16
            strings_start,
            0,  # styles start
        )
        return header + body


def _android_attr_names(root: Element) -> list[str]:
    names: list[str] = []

    def walk(e: Element) -> None:
        for ns, name, _ in e.attrs:
            if ns == ANDROID_NS and name not in names:
                names.append(name)
        for c in e.children:
            walk(c)

    walk(root)
    return names


def encode(root: Element) -> bytes:
    """Compiles the element tree, declaring the `android` namespace on the root."""
    resource_names = _android_attr_names(root)
    strings = _Strings(resource_names)
    events: list[bytes] = []
    line = 1

    prefix, uri = strings.add("android"), strings.add(ANDROID_NS)
    ns_body = struct.pack("<II", prefix, uri)
    ns_header = lambda kind: struct.pack("<HHIII", kind, 16, 16 + len(ns_body), line, NO_INDEX)  # noqa: E731
    events.append(ns_header(RES_XML_START_NAMESPACE) + ns_body)

    def emit(e: Element) -> None:
        nonlocal line
        attrs = b""
        for ns, name, value in e.attrs:
            ns_index = strings.add(ns) if ns else NO_INDEX
            name_index = strings.add(name)
            if isinstance(value, int):
                raw, kind, data = NO_INDEX, TYPE_INT_DEC, value & 0xFFFFFFFF
            else:
                raw = strings.add(value)
                kind, data = TYPE_STRING, raw
            attrs += struct.pack("<IIIHBBI", ns_index, name_index, raw, 8, 0, kind, data)
        ext = struct.pack(
            "<IIHHHHHH", NO_INDEX, strings.add(e.name), 20, 20, len(e.attrs), 0, 0, 0
        )
        body = ext + attrs
        events.append(struct.pack("<HHIII", RES_XML_START_ELEMENT, 16, 16 + len(body), line, NO_INDEX) + body)
        line += 1
        for c in e.children:
            emit(c)
        end = struct.pack("<II", NO_INDEX, strings.add(e.name))
        events.append(struct.pack("<HHIII", RES_XML_END_ELEMENT, 16, 16 + len(end), line, NO_INDEX) + end)
        line += 1

    emit(root)
    events.append(ns_header(RES_XML_END_NAMESPACE) + ns_body)

    ids = b"".join(struct.pack("<I", ANDROID_ATTR_IDS[n]) for n in resource_names)
    resource_map = struct.pack("<HHI", RES_XML_RESOURCE_MAP, 8, 8 + len(ids)) + ids
    body = strings.chunk() + resource_map + b"".join(events)
    return struct.pack("<HHI", RES_XML, 8, 8 + len(body)) + body


def manifest(
    package: str,
    *,
    version_code: int = 1,
    version_name: str = "1.0",
    min_sdk: int = 24,
    target_sdk: int = 34,
    activity: str = ".MainActivity",
) -> bytes:
    """A minimal manifest: package, versions, uses-sdk and one launcher activity."""
    a = ANDROID_NS
    launcher = Element(
        "intent-filter",
        children=[
            Element("action", [(a, "name", "android.intent.action.MAIN")]),
            Element("category", [(a, "name", "android.intent.category.LAUNCHER")]),
        ],
    )
    root = Element(
        "manifest",
        [(a, "versionCode", version_code), (a, "versionName", version_name), (None, "package", package)],
        [
            Element("uses-sdk", [(a, "minSdkVersion", min_sdk), (a, "targetSdkVersion", target_sdk)]),
            Element("application", children=[Element("activity", [(a, "name", activity)], [launcher])]),
        ],
    )
    return encode(root)
