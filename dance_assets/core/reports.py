"""Small pictures and tables for asset metadata and the reports/ folder."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw

from dance_assets.core.lake import atomic_write_bytes


def png_bytes(image: Image.Image, colours: int = 128) -> bytes:
    """A compact PNG: palette-quantised so it stays small inside run metadata."""
    buffer = io.BytesIO()
    image.convert("RGB").quantize(colours).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def save_png(path: Path, png: bytes) -> Path:
    return atomic_write_bytes(path, png)


def contact_sheet(images: Sequence[Path], labels: Sequence[str] | None = None,
                  columns: int = 8, thumb_height: int = 96) -> Image.Image:
    """A grid of thumbnails, each optionally captioned, for a person to eyeball."""
    thumbs = []
    for path in images:
        with Image.open(path) as image:
            scale = thumb_height / image.height
            thumbs.append(image.convert("RGB").resize(
                (max(1, round(image.width * scale)), thumb_height), Image.Resampling.BILINEAR))
    if not thumbs:
        return Image.new("RGB", (thumb_height, thumb_height), "white")
    cell_w = max(t.width for t in thumbs)
    caption = 12 if labels else 0
    rows = (len(thumbs) + columns - 1) // columns
    sheet = Image.new("RGB", (cell_w * min(columns, len(thumbs)), rows * (thumb_height + caption)),
                      "white")
    draw = ImageDraw.Draw(sheet)
    for index, thumb in enumerate(thumbs):
        x, y = (index % columns) * cell_w, (index // columns) * (thumb_height + caption)
        sheet.paste(thumb, (x, y))
        if labels:
            draw.text((x + 2, y + thumb_height), labels[index][: cell_w // 6], fill=(0, 0, 0))
    return sheet


def markdown_table(df: pd.DataFrame, max_rows: int = 50) -> str:
    """A Markdown table of at most `max_rows` rows, saying how many were left out."""
    if df.empty:
        return "_none_"
    shown = df.head(max_rows)
    header = "| " + " | ".join(map(str, shown.columns)) + " |"
    rule = "|" + "|".join(" --- " for _ in shown.columns) + "|"
    body = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in shown.itertuples(index=False)
    ]
    more = [f"\n_…and {len(df) - max_rows} more rows_"] if len(df) > max_rows else []
    return "\n".join([header, rule, *body, *more])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")
