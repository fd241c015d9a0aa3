"""The page decoder's IR on its own (runtime/pagecodec.py, runtime/parquet_format.py): the module
verifies, and its snappy and Thrift readers, called through small wrappers, decode what pyarrow's
codecs and hand-made inputs hold, and refuse damaged ones with the Status that names why (never a
crash)."""

from __future__ import annotations

import ctypes
import functools

import numpy as np
import pyarrow as pa
import pytest
from llvmlite import binding as llvm
from llvmlite import ir

from arrowjit.compiler.jit import compile_ir, host_target
from arrowjit.runtime import pagecodec
from arrowjit.runtime import parquet_format as fmt
from arrowjit.runtime.pagecodec import Status

SNAPPY = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)
HEADER = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p)


@pytest.mark.parametrize("bits", [32, 64])
def test_module_verifies_with_only_the_entry_exported(bits):
    module = ir.Module(name="pages")
    pagecodec.build(module, bits)
    text = str(module)
    parsed = llvm.parse_assembly(text)
    parsed.verify()
    exported = [f.name for f in parsed.functions
                if not f.is_declaration and f.linkage == llvm.Linkage.external]
    assert exported == [f"decode_chunk_{bits}"]
    assert "i64*" not in text  # opaque pointers only (LLVM 17 and later read nothing else)


@functools.cache
def _wrapped(name: str, signature):
    """The internal function ``name`` of the decoder's module, called through an exported wrapper."""
    module = ir.Module(name=f"test_{name}")
    inner = {"snappy": fmt.snappy, "page_header": fmt.page_header}[name](module)
    outer = ir.Function(module, inner.function_type, f"{name}_entry")
    builder = ir.IRBuilder(outer.append_basic_block())
    builder.ret(builder.call(inner, outer.args))
    compiled = compile_ir(str(module), f"{name}_entry", host_target())
    return compiled, signature(compiled.address)


def _unsnappy(stream: bytes, expected: int) -> tuple[int, bytes]:
    _, call = _wrapped("snappy", SNAPPY)
    source = np.frombuffer(stream + bytes(16), dtype=np.uint8)  # (a guard: never read)
    out = np.zeros(expected + 16, dtype=np.uint8)
    status = call(source.ctypes.data, len(stream), out.ctypes.data, expected)
    assert not out[expected:].any(), "wrote past the output"
    return status, out[:expected].tobytes()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _literal(data: bytes) -> bytes:
    n = len(data) - 1
    if n < 60:
        return bytes([n << 2]) + data
    size = (n.bit_length() + 7) // 8
    return bytes([(59 + size) << 2]) + n.to_bytes(size, "little") + data


def _copy2(length: int, offset: int) -> bytes:
    return bytes([(length - 1) << 2 | 2]) + offset.to_bytes(2, "little")


def _copy1(length: int, offset: int) -> bytes:
    return bytes([(offset >> 8) << 5 | (length - 4) << 2 | 1, offset & 0xFF])


def _copy4(length: int, offset: int) -> bytes:
    return bytes([(length - 1) << 2 | 3]) + offset.to_bytes(4, "little")


@pytest.mark.parametrize("data", [
    b"",
    b"a",
    bytes(range(256)) * 40,  # copies far back
    np.arange(20_000, dtype=np.int64).tobytes(),  # sorted integers: short literals and copies
    np.random.default_rng(7).random(5_000).tobytes(),  # incompressible: long literals
    b"ab" * 5_000 + b"xyz" * 3_000,  # runs: copies that overlap what they write
])
def test_snappy_decodes_what_arrow_encodes(data):
    stream = pa.Codec("snappy").compress(data, asbytes=True)
    assert _unsnappy(stream, len(data)) == (Status.OK, data)


@pytest.mark.parametrize("stream, expected, result", [
    # Each element kind, and copies overlapping their output by 1 to 9 bytes.
    (_varint(5) + _literal(b"hello"), 5, b"hello"),
    (_varint(70) + _literal(bytes(range(70))), 70, bytes(range(70))),  # a length in one more byte
    (_varint(300) + _literal(bytes(range(256)) + bytes(44)), 300, bytes(range(256)) + bytes(44)),
    (_varint(12) + _literal(b"ab") + _copy1(10, 2), 12, b"ab" * 6),
    (_varint(20) + _literal(b"abc") + _copy2(17, 3), 20, (b"abc" * 7)[:20]),
    (_varint(13) + _literal(b"x") + _copy4(12, 1), 13, b"x" * 13),
    (_varint(64 + 9) + _literal(b"123456789") + _copy2(64, 9), 73, (b"123456789" * 9)[:73]),
])
def test_snappy_elements(stream, expected, result):
    assert _unsnappy(stream, expected) == (Status.OK, result)


@pytest.mark.parametrize("stream, expected", [
    (_varint(6) + _literal(b"hello"), 6),  # a stream shorter than its length
    (_varint(5) + _literal(b"hello"), 4),  # longer than the page says
    (_varint(5) + _literal(b"hello")[:-1], 5),  # a literal past the input
    (_varint(8) + _literal(b"ab") + _copy2(6, 0), 8),  # a copy from 0 bytes back
    (_varint(8) + _literal(b"ab") + _copy2(6, 3), 8),  # a copy from before the output
    (_varint(4) + _literal(b"ab") + _copy2(6, 2), 4),  # a copy past the output
    (_varint(8) + _literal(b"ab") + bytes([2 << 2 | 2, 2]), 8),  # a copy's offset cut short
    (_varint(1 << 40), 8),  # a length of another size
    (b"\xff" * 11, 8),  # a varint longer than 64 bits
    (_varint(61) + bytes([62 << 2]), 61),  # a literal's length bytes cut short
])
def test_snappy_refuses_damaged_streams(stream, expected):
    status, _ = _unsnappy(stream, expected)
    assert status == Status.BAD_SNAPPY or status == Status.TRUNCATED


def _header(data: bytes) -> tuple[int, dict[int, tuple[int, int]]]:
    """page_header's result and the fields it kept: slot -> (Thrift type, value)."""
    _, call = _wrapped("page_header", HEADER)
    source = np.frombuffer(data + bytes(16), dtype=np.uint8)
    fields = np.zeros(fmt.SLOTS, dtype=np.int64)
    kinds = np.zeros(fmt.SLOTS, dtype=np.uint8)
    result = call(source.ctypes.data, len(data), fields.ctypes.data, kinds.ctypes.data)
    return result, {k: (int(kinds[k]), int(fields[k])) for k in range(fmt.SLOTS) if kinds[k]}


def _zigzag(n: int) -> bytes:
    return _varint((n << 1) ^ (n >> 63))


def _i32(delta: int, value: int) -> bytes:
    return bytes([delta << 4 | 5]) + _zigzag(value)


def test_page_header_keeps_its_fields_and_its_page_structs():
    # PageHeader {1: 0, 2: 100, 3: 60, 5: {1: 10, 2: 0, 3: 3, 4: 3, 5: Statistics{1: b"max", 3: 0}}}
    statistics = bytes([1 << 4 | 8]) + _varint(3) + b"max" + bytes([2 << 4 | 6]) + _zigzag(0) + b"\x00"
    data_page = (_i32(1, 10) + _i32(1, 0) + _i32(1, 3) + _i32(1, 3) + bytes([1 << 4 | 12]) + statistics
                 + b"\x00")
    header = _i32(1, 0) + _i32(1, 100) + _i32(1, 60) + bytes([2 << 4 | 12]) + data_page + b"\x00"
    result, fields = _header(header + b"body")
    assert result == len(header)
    assert fields[fmt.slot(None, 2)] == (5, 100) and fields[fmt.slot(None, 3)] == (5, 60)
    assert fields[fmt.slot(5, 1)] == (5, 10) and fields[fmt.slot(5, 4)] == (5, 3)
    assert fmt.slot(5, 5) in fields  # (a struct: kept as present, its fields skipped)


def test_page_header_long_field_ids_and_bools():
    # Field 8 (DataPageHeaderV2) given with a long id; its field 7 a bool false.
    v2 = _i32(1, 5) + bytes([6 << 4 | 2]) + b"\x00"
    header = _i32(1, 3) + bytes([0x0C]) + _zigzag(8) + v2 + b"\x00"
    result, fields = _header(header)
    assert result == len(header)
    assert fields[fmt.slot(8, 1)] == (5, 5) and fields[fmt.slot(8, 7)] == (2, 0)


@pytest.mark.parametrize("header, status", [
    (_i32(1, 0), Status.TRUNCATED),  # no stop byte
    (_i32(1, 0) + bytes([1 << 4 | 9, 0x15]) + b"\x00", Status.UNSUPPORTED_THRIFT),  # a list
    (_i32(1, 0) + bytes([1 << 4 | 11]) + b"\x00\x00", Status.UNSUPPORTED_THRIFT),  # a map
    (bytes([1 << 4 | 12]) * 12 + b"\x00" * 13, Status.UNSUPPORTED_THRIFT),  # structs too deep
    (bytes([1 << 4 | 8]) + _varint(100) + b"short", Status.TRUNCATED),  # a binary past the end
    (bytes([1 << 4 | 5]) + b"\xff" * 11, Status.TRUNCATED),  # a varint of more than 64 bits
    (bytes([1 << 4 | 13]) + b"\x00", Status.UNSUPPORTED_THRIFT),  # no such type
])
def test_page_header_refuses(header, status):
    assert _header(header)[0] == status
