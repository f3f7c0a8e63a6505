#!/usr/bin/env python3
"""Regenerates assets/demo/: the files `smartimage demo` drops into each demo account's Dropbox
folder. Needs Pillow and ffmpeg. The output is committed; run this only to change the demo.

Layout (one folder per demo account):
  Acme Marketing/  team plan: images of several formats in nested folders, a PDF, a short
                   video, plus files that fail: an executable named .jpg and a ZIP archive
  Basic Bakery/    basic plan: images and a PDF, and a video (refused: no video on Basic)
  Trial Studio/    trial plan: images; `smartimage demo` adds a sparse 1.2 GiB video there
                   at run time (refused: over the 1 GiB per-video cap)
"""
import math
import os
import shutil
import struct
import subprocess
import zipfile

from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "demo")


def scene(w, h, hue):
    """A soft landscape-like gradient with a sun: compresses like a photo, not like noise."""
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            t = y / h
            r = int(80 + 120 * t + 40 * math.sin((x + hue) / 37))
            g = int(120 + 60 * math.sin((y + hue) / 53) + 30 * t)
            b = int(200 - 110 * t + 30 * math.cos((x - hue) / 61))
            px[x, y] = (max(0, min(255, r)), max(0, min(255, g)), max(0, min(255, b)))
    d = ImageDraw.Draw(img)
    cx, cy, rad = w * 0.7, h * 0.3, min(w, h) * 0.12
    d.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], fill=(255, 220, 120))
    d.rectangle([0, int(h * 0.78), w, h], fill=(40 + hue % 60, 90, 50))
    return img


def save(img, rel, **kw):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, **kw)


def video(rel, seconds, size, color):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc=duration={seconds}:size={size}:rate=12",
         "-vf", f"colorchannelmixer=rr={color}", "-c:v", "libx264", "-preset", "veryslow",
         "-crf", "36", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path],
        check=True,
    )


def windows_executable(rel):
    """A minimal PE header (what a downloaded setup.exe starts with), renamed .jpg."""
    dos = bytearray(b"MZ" + b"\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44)
    dos[0x3C:0x40] = struct.pack("<I", 0x80)
    dos += b"\x00" * (0x80 - len(dos))
    pe = b"PE\x00\x00" + struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, 0xF0, 0x22)
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes(dos) + pe + b"\x00" * 400)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    acme = "Acme Marketing"
    save(scene(640, 400, 10), f"{acme}/campaign/hero.jpg", quality=70)
    save(scene(480, 300, 70).quantize(64), f"{acme}/campaign/banner.png", optimize=True)
    save(scene(320, 320, 140), f"{acme}/campaign/social/square.webp", quality=60)
    save(scene(200, 120, 200).quantize(32), f"{acme}/logo.gif")
    save(scene(400, 300, 30), f"{acme}/press/press-kit.pdf")
    video(f"{acme}/campaign/teaser.mp4", 2, "320x180", 0.8)
    windows_executable(f"{acme}/downloads/setup.jpg")
    with zipfile.ZipFile(os.path.join(OUT, acme, "old-assets.zip"), "w") as z:
        z.writestr("readme.txt", "an archive: Smartimage does not take archives\n")
    bakery = "Basic Bakery"
    save(scene(600, 400, 90), f"{bakery}/bread.jpg", quality=70)
    save(scene(300, 300, 160).quantize(48), f"{bakery}/menu/cake.png", optimize=True)
    save(scene(400, 560, 50), f"{bakery}/menu/menu.pdf")
    video(f"{bakery}/promo.mp4", 2, "256x144", 0.5)
    trial = "Trial Studio"
    save(scene(640, 420, 120), f"{trial}/shoot/day1/portrait.jpg", quality=70)
    save(scene(420, 640, 180), f"{trial}/shoot/day2/landscape.jpg", quality=70)
    save(scene(256, 256, 220), f"{trial}/mockup.tiff", compression="tiff_deflate")
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"{total // 1024} KiB in {OUT}")


if __name__ == "__main__":
    main()
