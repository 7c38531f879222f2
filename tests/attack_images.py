"""Attack files made without holding their pixels: huge images that are small on disk.

PNG and TIFF are written row by row (zlib/deflate), so a 10900 x 10900 16-bit PNG of one
grey (the file of issue 14, ~230 KB) is made in a few MB of memory.
"""
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


#: PNG colour type -> samples per pixel.
_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _png_rows(width, height, bit_depth, colour_type, value):
    row_bytes = -(-width * _SAMPLES[colour_type] * bit_depth // 8)
    row = b"\x00" + bytes([value]) * row_bytes  # filter 0, every byte ``value``
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    return b"".join(parts)


def png(width: int, height: int, bit_depth: int = 8, colour_type: int = 0, value: int = 0x80,
        frames: int = 1) -> bytes:
    """A PNG of one colour (every byte of every row ``value``). ``colour_type``: 0 grey,
    2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. ``frames`` > 1: an APNG of that many
    full-size frames."""
    out = [b"\x89PNG\r\n\x1a\n",
           _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))]
    if colour_type == 3:
        out.append(_chunk(b"PLTE", bytes(range(256)) * 3))
    data = _png_rows(width, height, bit_depth, colour_type, value)
    if frames > 1:
        out.append(_chunk(b"acTL", struct.pack(">II", frames, 0)))
    sequence = 0
    for frame in range(frames):
        if frames > 1:
            out.append(_chunk(b"fcTL", struct.pack(">IIIIIHHBB", sequence, width, height, 0, 0, 1, 10, 0, 0)))
            sequence += 1
        if frame == 0:
            out.append(_chunk(b"IDAT", data))
        else:
            out.append(_chunk(b"fdAT", struct.pack(">I", sequence) + data))
            sequence += 1
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def tiff(width: int, height: int, bits: int, samples: int = 1, sample_format: int = 1, photometric: int = 1,
         value: int = 0x3F, pages: int = 1, rows: int = 64) -> bytes:
    """A deflate-compressed little-endian TIFF of one value (every byte ``value``), one
    strip of 64 rows at a time. ``sample_format`` 1 unsigned, 2 signed, 3 float;
    ``photometric`` 1 grey (black is zero), 5 CMYK (``samples`` 4). ``pages``: that many
    identical pages (a multi-frame file). ``rows``: rows a strip (RowsPerStrip; the
    height or more: the whole image in one strip)."""
    rows = min(rows, height)
    strip_raw = bytes([value]) * (width * samples * bits // 8 * rows)
    last_rows = height - rows * ((height - 1) // rows)
    strip = zlib.compress(strip_raw, 9)
    last = zlib.compress(strip_raw[: width * samples * bits // 8 * last_rows], 9)
    strips = -(-height // rows)
    out = bytearray(b"II*\x00" + struct.pack("<I", 0))
    ifd_links = []
    for _ in range(pages):
        offsets, counts = [], []
        for index in range(strips):
            data = last if index == strips - 1 else strip
            offsets.append(len(out))
            counts.append(len(data))
            out += data
        if len(out) % 2:
            out += b"\x00"
        offsets_at = len(out)
        out += struct.pack(f"<{strips}I", *offsets)
        counts_at = len(out)
        out += struct.pack(f"<{strips}I", *counts)
        bits_at = len(out)
        out += struct.pack(f"<{samples}H", *([bits] * samples)) + (b"\x00\x00" if samples % 2 else b"")
        formats_at = len(out)
        out += struct.pack(f"<{samples}H", *([sample_format] * samples)) + (b"\x00\x00" if samples % 2 else b"")
        entries = [
            (256, 4, 1, width), (257, 4, 1, height),
            (258, 3, samples, bits if samples == 1 else bits_at), (259, 3, 1, 8), (262, 3, 1, photometric),
            (273, 4, strips, offsets_at if strips > 1 else offsets[0]), (277, 3, 1, samples), (278, 4, 1, rows),
            (279, 4, strips, counts_at if strips > 1 else counts[0]), (284, 3, 1, 1),
            (339, 3, samples, sample_format if samples == 1 else formats_at),
        ]
        ifd_at = len(out)
        ifd_links.append(ifd_at)
        out += struct.pack("<H", len(entries))
        for tag, kind, count, payload in entries:
            packed = struct.pack("<HHI", tag, kind, count)
            if kind == 3 and count == 1:
                packed += struct.pack("<HH", payload, 0)
            else:
                packed += struct.pack("<I", payload)
            out += packed
        out += struct.pack("<I", 0)  # next IFD, linked below
    out[4:8] = struct.pack("<I", ifd_links[0])
    for previous, following in zip(ifd_links, ifd_links[1:]):
        count = struct.unpack("<H", out[previous: previous + 2])[0]
        at = previous + 2 + 12 * count
        out[at: at + 4] = struct.pack("<I", following)
    return bytes(out)


def tiled_tiff(width: int, height: int, tile: int, samples: int = 3) -> bytes:
    """A little-endian 8-bit TIFF (RGB when ``samples`` is 3) of ``width`` x ``height``
    pixels stored in ONE deflate-compressed tile of ``tile`` x ``tile`` zeros (TileWidth,
    TileLength; a tile may be far larger than the image). The tile is compressed a MB at
    a time, so a 16384 x 16384 RGB tile (768 MB) makes a file of about 750 KB."""
    compressor = zlib.compressobj(9)
    block = bytes(2**20)
    left, parts = tile * tile * samples, []
    while left > 0:
        parts.append(compressor.compress(block[: min(left, len(block))]))
        left -= len(block)
    parts.append(compressor.flush())
    data = b"".join(parts)
    tiles = -(-width // tile) * -(-height // tile)
    assert tiles == 1, "one tile only"
    out = bytearray(b"II*\x00" + struct.pack("<I", 0))
    data_at = len(out)
    out += data
    if len(out) % 2:
        out += b"\x00"
    bits_at = len(out)
    out += struct.pack(f"<{samples}H", *([8] * samples)) + (b"\x00\x00" if samples % 2 else b"")
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, samples, 8 if samples == 1 else bits_at),
        (259, 3, 1, 8), (262, 3, 1, 2 if samples == 3 else 1), (277, 3, 1, samples), (284, 3, 1, 1),
        (322, 4, 1, tile), (323, 4, 1, tile), (324, 4, 1, data_at), (325, 4, 1, len(data)),
    ]
    ifd_at = len(out)
    out += struct.pack("<H", len(entries))
    for tag, kind, count, payload in entries:
        out += struct.pack("<HHI", tag, kind, count)
        out += struct.pack("<HH", payload, 0) if kind == 3 and count == 1 else struct.pack("<I", payload)
    out += struct.pack("<I", 0)
    out[4:8] = struct.pack("<I", ifd_at)
    return bytes(out)


def ico(png_data: bytes) -> bytes:
    """A Windows icon (ICO) holding one PNG image: Pillow decodes it whole inside
    ``Image.open``, whatever size the PNG declares."""
    return (struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png_data), 22)
            + png_data)


def icns(png_data: bytes) -> bytes:
    """A macOS icon (ICNS) whose one entry (``ic10``, declared 1024 x 1024) is
    ``png_data``: Pillow reports the declared size until it decodes the PNG's own."""
    entry = b"ic10" + struct.pack(">I", 8 + len(png_data)) + png_data
    return b"icns" + struct.pack(">I", 8 + len(entry)) + entry


def rle8_bmp(width: int, height: int) -> bytes:
    """An 8-bit run-length (RLE8) BMP of one grey: runs of 255 pixels, about 90 bytes a
    row of 10950 pixels, so 120 MP take under 1 MB."""
    row = bytearray()
    left = width
    while left > 0:
        run = min(255, left)
        row += bytes([run, 1])
        left -= run
    data = (bytes(row) + b"\x00\x00") * (height - 1) + bytes(row) + b"\x00\x01"  # end of line; of bitmap
    palette = b"".join(struct.pack("<BBBB", i, i, i, 0) for i in range(256))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(data), 2835, 2835, 256, 0)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + data
