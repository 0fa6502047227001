#!/usr/bin/env python3
"""Draw Expdesk's icon (resources/icons/icon.png, 512x512 RGBA) with the standard library only.

A rounded dark tile with a faint grid and a bright training curve that falls
and keeps one spike: the thing Expdesk is for. Edges are anti-aliased from
exact distances, so no supersampling is needed. Run: python3 build/generate-icon.py
"""
import math
import os
import struct
import zlib

SIZE = 512
RADIUS = 104          # corner radius of the tile (macOS-like proportions)
MARGIN = 24           # transparent border so the tile does not touch the edge
BG_TOP = (36, 41, 54)
BG_BOTTOM = (20, 23, 31)
GRID = (255, 255, 255, 22)
CURVE = (86, 214, 160)
SPIKE = (255, 176, 72)
LINE_HALF_WIDTH = 11.0

# The curve in tile coordinates (0..1), a loss falling with one spike.
POINTS = [(0.16, 0.30), (0.30, 0.52), (0.42, 0.62), (0.52, 0.58), (0.58, 0.34),
          (0.64, 0.70), (0.76, 0.74), (0.86, 0.77)]
SPIKE_INDEX = 4


def clamp(x, lo=0.0, hi=1.0):
    return lo if x < lo else hi if x > hi else x


def rounded_rect_distance(x, y):
    """Signed distance to the tile's outline (negative inside)."""
    cx = cy = SIZE / 2
    half = SIZE / 2 - MARGIN
    qx = abs(x - cx) - (half - RADIUS)
    qy = abs(y - cy) - (half - RADIUS)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    inside = min(max(qx, qy), 0.0)
    return outside + inside - RADIUS


def segment_distance(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = clamp(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def over(dst, src, alpha):
    return tuple(d + (s - d) * alpha for d, s in zip(dst, src))


def main():
    lo, hi = MARGIN, SIZE - MARGIN
    span = hi - lo
    pts = [(lo + x * span, lo + y * span) for x, y in POINTS]
    rows = []
    for y in range(SIZE):
        row = bytearray([0])  # filter type 0 for this scanline
        py = y + 0.5
        for x in range(SIZE):
            px = x + 0.5
            tile = clamp(0.5 - rounded_rect_distance(px, py))
            if tile <= 0.0:
                row += b"\0\0\0\0"
                continue
            t = (py - lo) / span
            color = tuple(a + (b - a) * t for a, b in zip(BG_TOP, BG_BOTTOM))
            # Grid: four horizontal and four vertical hairlines.
            for k in range(1, 5):
                g = lo + k * span / 5
                cover = max(clamp(1.0 - abs(py - g)), clamp(1.0 - abs(px - g)))
                if cover > 0:
                    color = over(color, GRID[:3], cover * GRID[3] / 255)
            # The curve, its spike segment in the accent colour.
            best, best_i = 1e9, 0
            for i in range(len(pts) - 1):
                d = segment_distance(px, py, *pts[i], *pts[i + 1])
                if d < best:
                    best, best_i = d, i
            cover = clamp(LINE_HALF_WIDTH + 0.5 - best)
            if cover > 0:
                on_spike = best_i in (SPIKE_INDEX - 1, SPIKE_INDEX)
                color = over(color, SPIKE if on_spike else CURVE, cover)
            # A dot at the last point: the run is live.
            d = math.hypot(px - pts[-1][0], py - pts[-1][1])
            cover = clamp(20.5 - d)
            if cover > 0:
                color = over(color, CURVE, cover)
            row += bytes(int(round(c)) for c in color) + bytes([int(round(tile * 255))])
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
    png += chunk(b"IEND", b"")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "icons", "icon.png")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "wb") as f:
        f.write(png)
    print(f"wrote {os.path.normpath(out)} ({len(png)} bytes)")


if __name__ == "__main__":
    main()
