#!/usr/bin/env python3
"""Runs other QR readers on the benchmark plates and scores them against the
ground truth, for bench/run.sh.

    peers.py --out DIR [--tile N] SCAN.tif...

Each SCAN.tif needs its SCAN.json (as `semqr simulate` writes it). Peers, each
where installed:
  zbar      the `zbarimg` command (ZBar 0.23), which reads images through
            ImageMagick;
  zxing     the zxing-cpp Python package (`zxingcpp.read_barcodes`, QR Model 2
            only),
            run in a child process of its own so that its peak memory is its
            own;
  quirc     a quirc demo program named by QUIRC_BIN or `quirc` on PATH, run as
            `PROG FILE.png`, whose lines `Payload: TEXT` are read (the format
            of quirc's tests/inspect).
Modes: "whole" gives the peer the whole scan; "tiles" cuts it into N x N tiles
(default 1024) overlapping by the largest symbol with its quiet zone, so that
every symbol lies whole in at least one tile, and merges the payloads.

Scoring (function `score`, also used by report.py for semqr): the payloads
of the truth's symbols lying inside the image are the expected set; a
decoded payload in that set is correct (counted once however many tiles
found it), any other is wrong. The plates' payloads P1-R{row}-C{col} are
unique, so a payload names its symbol.

Writes DIR/NAME-PEER.json per scan and peer: a list (whole, tiles) of {"peer", "mode", "scan", "pixels",
"expected", "correct", "wrong", "seconds" (decoding only: the peer's calls, or
for programs their run time, which includes their own image reading),
"seconds_prepare" (reading the scan and cutting tiles, ours), "peak_rss_kb",
"tiles", "tile", "overlap", "wrong_examples" (up to five wrong payloads),
"error"}.
"""
import argparse
import importlib.util
import json
import os
import re
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

QUIET_MODULES = 4


# --- ground truth and scoring ---------------------------------------------

def load_truth(scan):
    """The truth JSON beside SCAN (NAME.tif -> NAME.json)."""
    with open(os.path.splitext(scan)[0] + ".json") as f:
        return json.load(f)


def expected_payloads(truth):
    """Payload texts of the symbols that lie whole inside the image."""
    return {s["payload"] for s in truth["symbols"] if s.get("inside", True)}


def score(decoded, truth):
    """(expected, correct, wrong) for an iterable of decoded payload texts."""
    want = expected_payloads(truth)
    got = set(decoded)
    return len(want), len(got & want), len(got - want)


def symbol_extent_px(truth):
    """Side of the largest axis-aligned box around a symbol and its quiet
    zone, in pixels (from the first frame's module corners)."""
    best = 0.0
    for s in truth["symbols"]:
        pts = np.array(s["corners"][0], dtype=float)
        side = max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]))
        modules = 17 + 4 * s["version"]
        best = max(best, side * (modules + 2 * QUIET_MODULES) / modules)
    return int(np.ceil(best)) + 2


# --- reading plates -------------------------------------------------------

class RawTiff:
    """An uncompressed 8-bit greyscale TIFF or BigTIFF in strips stored one
    after the other (as `semqr simulate` writes plates): rows are read
    straight from the file, so a band costs only its own bytes."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            head = f.read(16)
            order = {b"II": "<", b"MM": ">"}[head[:2]]
            magic = struct.unpack(order + "H", head[2:4])[0]
            big = magic == 43
            if big:
                ifd = struct.unpack(order + "Q", head[8:16])[0]
            else:
                ifd = struct.unpack(order + "I", head[4:8])[0]
            tags = self._read_ifd(f, order, big, ifd)
        self.width = tags[256][0]
        self.height = tags[257][0]
        if tags.get(259, [1])[0] != 1 or tags.get(258, [8])[0] != 8 \
                or tags.get(277, [1])[0] != 1 or 273 not in tags:
            raise ValueError("%s: not an uncompressed 8-bit greyscale strip TIFF" % path)
        offsets, counts = tags[273], tags[279]
        for i in range(len(offsets) - 1):
            if offsets[i] + counts[i] != offsets[i + 1]:
                raise ValueError("%s: strips are not contiguous" % path)
        self.offset = offsets[0]

    @staticmethod
    def _read_ifd(f, order, big, ifd):
        sizes = {1: 1, 3: 2, 4: 4, 16: 8}
        codes = {1: "B", 3: "H", 4: "I", 16: "Q"}
        f.seek(ifd)
        n = struct.unpack(order + ("Q" if big else "H"), f.read(8 if big else 2))[0]
        entries = f.read(n * (20 if big else 12))
        tags = {}
        for i in range(n):
            e = entries[i * (20 if big else 12):(i + 1) * (20 if big else 12)]
            tag, typ = struct.unpack(order + "HH", e[:4])
            if typ not in sizes:
                continue
            if big:
                count = struct.unpack(order + "Q", e[4:12])[0]
                inline, slot = e[12:20], 8
            else:
                count = struct.unpack(order + "I", e[4:8])[0]
                inline, slot = e[8:12], 4
            nbytes = count * sizes[typ]
            if nbytes <= slot:
                data = inline[:nbytes]
            else:
                where = struct.unpack(order + ("Q" if big else "I"), inline)[0]
                back = f.tell()
                f.seek(where)
                data = f.read(nbytes)
                f.seek(back)
            tags[tag] = list(struct.unpack(order + codes[typ] * count, data))
        return tags

    def rows(self, y0, y1):
        """Rows [y0, y1) as a (y1 - y0) x width uint8 array."""
        with open(self.path, "rb") as f:
            f.seek(self.offset + y0 * self.width)
            buf = f.read((y1 - y0) * self.width)
        return np.frombuffer(buf, dtype=np.uint8).reshape(y1 - y0, self.width)


def tile_starts(length, tile, overlap):
    """Starts of tiles of side `tile` covering [0, length), consecutive ones
    overlapping by `overlap`: a box of side <= overlap starting at a lies in
    the tile starting at floor(a / step) * step (or the last, clamped one)."""
    if length <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def tile_bands(raw, tile, overlap):
    """Yields (y, band) for each row of tiles and then, per band, the tiles
    are band[:, x:x + tile] for x in tile_starts(width)."""
    for y in tile_starts(raw.height, tile, overlap):
        yield y, raw.rows(y, min(raw.height, y + tile))


# --- peers ----------------------------------------------------------------

def run_timed(cmd):
    """Runs cmd under /usr/bin/time; returns (stdout, seconds, peak KB, error):
    error is None on exit status 0, else the status and the program's last
    message (ZBar's D-Bus connection chatter skipped)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", t.name] + cmd,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        fields = t.read().split()
    secs, kb = (float(fields[-2]), int(fields[-1])) if len(fields) >= 2 else (0.0, 0)
    err = None
    if p.returncode != 0:
        msgs = [m for m in p.stderr.decode("utf-8", "replace").splitlines()
                if m.strip() and not m.startswith("Connection")]
        err = "%s exit status %d%s" % (os.path.basename(cmd[0]), p.returncode,
                                        ": " + msgs[-1].strip() if msgs else "")
    return p.stdout.decode("utf-8", "replace"), secs, kb, p.returncode, err


ZBAR_DATA = re.compile(r"<symbol type='QR-Code'[^>]*>.*?<data><!\[CDATA\[(.*?)\]\]></data>",
                       re.S)


def zbar_files(files):
    """zbarimg on image files; returns (payloads, seconds, peak KB, error)."""
    out, secs, kb, rc, err = run_timed(["zbarimg", "--quiet", "--xml", "-Sdisable",
                                        "-Sqrcode.enable"] + files)
    # 0: symbols found, 4: none found; anything else is a failure.
    return ZBAR_DATA.findall(out), secs, kb, None if rc in (0, 4) else err


QUIRC_PAYLOAD = re.compile(r"^\s*Payload:\s?(.*)$", re.M)


def quirc_files(prog, files):
    """The quirc demo on each file; returns (payloads, seconds, peak KB, error)."""
    payloads, total, peak, err = [], 0.0, 0, None
    for f in files:
        out, secs, kb, rc, e = run_timed([prog, f])
        total += secs
        peak = max(peak, kb)
        if e and err is None:
            err = "%s (%s)" % (e, os.path.basename(f))
        payloads += QUIRC_PAYLOAD.findall(out)
    return payloads, total, peak, err


def image_batches(scan, mode, tile, overlap, work, ext):
    """Yields (files, seconds spent making them): the scan itself (zbarimg
    reads TIFF), or the whole scan or one row of tiles written into `work`
    as `ext` images (removed again by the caller)."""
    t0 = time.perf_counter()
    raw = RawTiff(scan)
    if mode == "whole":
        if ext == ".pgm":
            yield [scan], 0.0
            return
        f = os.path.join(work, "whole" + ext)
        write_image(f, raw.rows(0, raw.height))
        yield [f], time.perf_counter() - t0
        return
    for y, band in tile_bands(raw, tile, overlap):
        t0 = time.perf_counter()
        files = []
        for x in tile_starts(raw.width, tile, overlap):
            files.append(os.path.join(work, "t%d-%d%s" % (y, x, ext)))
            write_image(files[-1], band[:, x:x + tile])
        yield files, time.perf_counter() - t0


def run_program(peer, scan, mode, tile, overlap, quirc):
    """zbar or quirc on the whole scan or its tiles, fed one row of tiles at
    a time through a scratch directory."""
    payloads, seconds, prepare, peak, err, ntiles = [], 0.0, 0.0, 0, None, 0
    work = tempfile.mkdtemp(prefix="semqr-bench-peer-")
    try:
        ext = ".pgm" if peer == "zbar" else ".png"
        for files, secs in image_batches(scan, mode, tile, overlap, work, ext):
            prepare += secs
            ntiles += len(files)
            if peer == "zbar":
                p, s, kb, e = zbar_files(files)
            else:
                p, s, kb, e = quirc_files(quirc, files)
            payloads += p
            seconds += s
            peak = max(peak, kb)
            err = err or e
            for f in files:
                if f.startswith(work):
                    os.remove(f)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return payloads, seconds, prepare, peak, err, ntiles


def write_image(path, a):
    """A greyscale array as binary PGM, or PNG for a .png path."""
    if path.endswith(".png"):
        from PIL import Image
        Image.fromarray(np.ascontiguousarray(a)).save(path)
        return
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (a.shape[1], a.shape[0]))
        f.write(np.ascontiguousarray(a).tobytes())


def zxing_worker(scan, mode, tile, overlap):
    """In a child process: zxing-cpp on the whole scan or its tiles; prints
    one JSON object with the payloads, times and this process's peak RSS."""
    import zxingcpp
    # Model 2 only, as on the plates: zxing-cpp 3's QRCode is the whole
    # family, and Micro QR finds short numbers in SEM noise.
    fmt = getattr(zxingcpp.BarcodeFormat, "QRCodeModel2", zxingcpp.BarcodeFormat.QRCode)
    raw = RawTiff(scan)
    payloads, seconds, prepare, ntiles = [], 0.0, 0.0, 0
    t0 = time.perf_counter()
    if mode == "whole":
        img = raw.rows(0, raw.height)
        prepare = time.perf_counter() - t0
        t1 = time.perf_counter()
        payloads = [r.text for r in zxingcpp.read_barcodes(img, formats=fmt)]
        seconds = time.perf_counter() - t1
        ntiles = 1
    else:
        for y, band in tile_bands(raw, tile, overlap):
            for x in tile_starts(raw.width, tile, overlap):
                part = np.ascontiguousarray(band[:, x:x + tile])
                t1 = time.perf_counter()
                payloads += [r.text for r in zxingcpp.read_barcodes(part, formats=fmt)]
                seconds += time.perf_counter() - t1
                ntiles += 1
        prepare = time.perf_counter() - t0 - seconds  # reading bands, copying tiles
    json.dump({"payloads": payloads, "seconds": seconds, "seconds_prepare": prepare,
               "tiles": ntiles,
               "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}, sys.stdout)


def run_zxing(scan, mode, tile, overlap):
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--zxing-worker", mode,
                        "--tile", str(tile), "--overlap", str(overlap), scan],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        msg = p.stderr.decode("utf-8", "replace").strip().splitlines()
        return [], 0.0, 0.0, 0, "zxing worker failed: %s" % (msg[-1] if msg else p.returncode), 0
    r = json.loads(p.stdout)
    return r["payloads"], r["seconds"], r["seconds_prepare"], r["peak_rss_kb"], None, r["tiles"]


def available_peers(wanted):
    """(name, program) of the peers among `wanted` that are installed."""
    peers = []
    if "zbar" in wanted and shutil.which("zbarimg"):
        peers.append(("zbar", None))
    if "zxing" in wanted:
        if importlib.util.find_spec("zxingcpp"):
            peers.append(("zxing", None))
        else:
            print("peers.py: zxing-cpp not importable, skipped", file=sys.stderr)
    quirc = os.environ.get("QUIRC_BIN") or shutil.which("quirc")
    if "quirc" in wanted and quirc:
        peers.append(("quirc", quirc))
    return peers


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scans", nargs="+")
    ap.add_argument("--out")
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--peers", default="zbar,zxing,quirc",
                    help="peers to run, where installed (default zbar,zxing,quirc)")
    ap.add_argument("--overlap", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--zxing-worker", choices=["whole", "tiles"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.zxing_worker:
        zxing_worker(a.scans[0], a.zxing_worker, a.tile, a.overlap)
        return
    if not a.out:
        ap.error("--out is required")
    os.makedirs(a.out, exist_ok=True)
    peers = available_peers(a.peers.split(","))
    for scan in a.scans:
        truth = load_truth(scan)
        overlap = symbol_extent_px(truth)
        if overlap >= a.tile:
            sys.exit("peers.py: tiles of %d px cannot hold symbols of %d px" % (a.tile, overlap))
        pixels = truth["image"]["width"] * truth["image"]["height"]
        for peer, prog in peers:
            records = []
            for mode in ("whole", "tiles"):
                print("peers.py: %s %s on %s" % (peer, mode, os.path.basename(scan)),
                      file=sys.stderr, flush=True)
                if peer == "zxing":
                    res = run_zxing(scan, mode, a.tile, overlap)
                else:
                    res = run_program(peer, scan, mode, a.tile, overlap, prog)
                payloads, seconds, prepare, peak, err, ntiles = res
                expected, correct, wrong = score(payloads, truth)
                records.append({"peer": peer, "mode": mode, "scan": scan, "pixels": pixels,
                                "expected": expected, "correct": correct, "wrong": wrong,
                                "seconds": round(seconds, 4),
                                "seconds_prepare": round(prepare, 4),
                                "peak_rss_kb": peak, "tiles": ntiles,
                                "tile": a.tile if mode == "tiles" else None,
                                "overlap": overlap if mode == "tiles" else None,
                                "wrong_examples": sorted(set(payloads) -
                                                         expected_payloads(truth))[:5],
                                "error": err})
            name = os.path.splitext(os.path.basename(scan))[0]
            with open(os.path.join(a.out, "%s-%s.json" % (name, peer)), "w") as f:
                json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
