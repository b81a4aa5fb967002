#!/usr/bin/env python3
"""Regenerates the image-I/O test files in this directory (used by
tests/test_image_io.c and tests/test_pure.c). Run from anywhere:
    python3 tests/data/generate_io.py
The broken files are built byte by byte here; the qrencode_* files need the
qrencode program (4.1)."""
import os
import struct
import subprocess
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def png_chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body +
            struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))


def png_grey(width, height):
    """A valid 8-bit grey PNG with a diagonal gradient."""
    raw = b"".join(b"\0" + bytes((x * 16 + y * 8) & 255 for x in range(width))
                   for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(raw, 0)) + png_chunk(b"IEND", b""))


def tiff_grey(width, height, pixels, strip_bytes=None):
    """A little-endian 8-bit grey TIFF: header, the IFD at offset 8, then the
    pixels as one strip."""
    strip_bytes = len(pixels) if strip_bytes is None else strip_bytes
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
            (273, 4, 0), (277, 3, 1), (278, 4, height), (279, 4, strip_bytes)]
    pixel_offset = 8 + 2 + 12 * len(tags) + 4
    ifd = struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        value = pixel_offset if tag == 273 else value
        ifd += struct.pack("<HHI", tag, kind, 1)
        ifd += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
    ifd += struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8) + ifd + pixels


def main():
    # PNG cut in the middle of its IDAT chunk.
    png = png_grey(16, 16)
    write("io_truncated.png", png[:len(png) * 2 // 3])
    # PNG whose IHDR CRC is wrong.
    bad = bytearray(png)
    bad[29] ^= 0xff
    write("io_bad_crc.png", bytes(bad))
    # TIFF whose only strip claims 256 bytes but the file ends after 100.
    tif = tiff_grey(16, 16, bytes(range(256)))
    write("io_truncated.tif", tif[:len(tif) - 156])
    # TIFF claiming 4000000 x 4000000 pixels (beyond SEMQR_IMAGE_DIM_MAX).
    write("io_huge.tif", tiff_grey(4000000, 4000000, bytes(16), strip_bytes=16))
    # TIFF whose first IFD offset points past the end of the file.
    write("io_bad_ifd.tif", b"II*\0" + struct.pack("<I", 1 << 30) + bytes(8))
    # PGM with a non-numeric height.
    write("io_bad_header.pgm", b"P5\n12 abc\n255\n" + bytes(12))
    # PGM whose raster is shorter than width * height.
    write("io_truncated.pgm", b"P5\n# short raster\n8 8\n255\n" + bytes(40))
    # Empty file and a text file.
    write("io_empty.png", b"")
    write("io_text.png", b"<html><body>not an image</body></html>\n")
    # Symbols made by another encoder, for semqr_decode_pure: 1 pixel per
    # module (1-bit PNG), 3 pixels per module version 7 (1-bit PNG), and
    # RGBA (PNG32) at 2 pixels per module.
    qr = [("qrencode_v2_s1.png", ["-s", "1", "-m", "4", "-l", "M"], "semqr pure decoding"),
          ("qrencode_v7_s3.png", ["-s", "3", "-m", "4", "-l", "Q", "-v", "7"],
           "https://example.org/semqr?test=pure&version=7"),
          ("qrencode_v3_s2_rgba.png", ["-s", "2", "-m", "2", "-l", "H", "-t", "PNG32"],
           "0123456789012345678901234567890123456789")]
    for name, args, text in qr:
        subprocess.run(["qrencode", *args, "-o", os.path.join(HERE, name), text], check=True)


if __name__ == "__main__":
    main()
