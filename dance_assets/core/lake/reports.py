"""Small pictures and tables for asset metadata and the reports/ folder."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from dance_assets.core.lake.lake import atomic_write_bytes

UI_IMAGE_WIDTH = 560
"""The widest picture (pixels) that the Dagster UI's Markdown dialog draws at its own size
at a common laptop width; a wider one is shrunk, and its text with it. Every picture made
for asset metadata keeps within it."""
_DPI = 90


def png_bytes(image: Image.Image, colours: int = 128) -> bytes:
    """A compact PNG: palette-quantised so it stays small inside run metadata."""
    buffer = io.BytesIO()
    image.convert("RGB").quantize(colours).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def save_png(path: Path, png: bytes) -> Path:
    return atomic_write_bytes(path, png)


def thumbnail(path: Path, thumb_height: int) -> Image.Image:
    """An image file scaled to `thumb_height` pixels high, as RGB."""
    with Image.open(path) as image:
        scale = thumb_height / image.height
        return image.convert("RGB").resize(
            (max(1, round(image.width * scale)), thumb_height), Image.Resampling.BILINEAR)


def contact_sheet(images: Sequence[Path | Image.Image], labels: Sequence[str] | None = None,
                  columns: int = 8, thumb_height: int = 96) -> Image.Image:
    """A grid of thumbnails, each optionally captioned (a label may have several lines).

    Files are scaled to `thumb_height`; images are taken as they are (same height). At
    most `columns` a row, fewer where the row would be wider than the UI draws.
    """
    thumbs = [image if isinstance(image, Image.Image) else thumbnail(image, thumb_height)
              for image in images]
    if not thumbs:
        return Image.new("RGB", (thumb_height, thumb_height), "white")
    cell_w = max(t.width for t in thumbs) + 4
    columns = max(1, min(columns, UI_IMAGE_WIDTH // cell_w))
    lines = max((label.count("\n") + 1 for label in labels), default=0) if labels else 0
    caption = 11 * lines + 2 if lines else 0
    rows = (len(thumbs) + columns - 1) // columns
    sheet = Image.new("RGB", (cell_w * min(columns, len(thumbs)), rows * (thumb_height + caption)),
                      "white")
    draw = ImageDraw.Draw(sheet)
    fits = max(1, (cell_w - 2) // 6)  # the default font is about 6 px wide
    for index, thumb in enumerate(thumbs):
        x, y = (index % columns) * cell_w, (index // columns) * (thumb_height + caption)
        sheet.paste(thumb, (x + 2, y))
        if labels:
            for row, text in enumerate(labels[index].split("\n")):
                draw.text((x + 2, y + thumb_height + 1 + 11 * row), text[:fits], fill=(0, 0, 0))
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


def pyplot():
    """matplotlib without a display, imported only when a plot is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


_FIGURE_WIDTH_IN = 0.98 * UI_IMAGE_WIDTH / _DPI


def figure_png(figure) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    pyplot().close(figure)
    return png_bytes(Image.open(io.BytesIO(buffer.getvalue())), colours=64)


def accuracy_curves_png(panels: dict[str, dict[str, pd.DataFrame]],
                        chance: float | None = None) -> bytes:
    """Validation accuracy by epoch: one panel per title, stacked so that the picture keeps
    to the UI's width, one line per named history."""
    plt = pyplot()
    figure, axes = plt.subplots(len(panels), 1, figsize=(_FIGURE_WIDTH_IN, 3.2 * len(panels)),
                                squeeze=False)
    for axis, (title, curves) in zip(axes[:, 0], panels.items(), strict=True):
        for label, history in curves.items():
            axis.plot(history["epoch"], history["accuracy"] * 100, marker="o", label=label)
        if chance is not None:
            axis.axhline(chance * 100, color="grey", linestyle=":", label="chance")
        axis.set(xlabel="epoch", ylabel="validation accuracy (%)", title=title, ylim=(0, 100))
        axis.xaxis.get_major_locator().set_params(integer=True, min_n_ticks=1)  # no epoch 0.98
        axis.grid(alpha=0.3)
        axis.legend(fontsize=9)
    figure.tight_layout()
    return figure_png(figure)


def confusion_heatmap_png(confusion: pd.DataFrame, classes: list[str], title: str) -> bytes:
    """A labelled confusion matrix (rows: truth, columns: prediction), counts in cells."""
    plt = pyplot()
    matrix = (confusion.pivot(index="true_class", columns="pred_class", values="n")
              .reindex(index=classes, columns=classes, fill_value=0).to_numpy())
    size = min(_FIGURE_WIDTH_IN, 2.4 + 0.34 * len(classes))
    figure, axis = plt.subplots(figsize=(size, size))
    axis.imshow(matrix, cmap="Blues")  # the counts are written in the cells: no colour bar
    axis.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(classes)), classes, fontsize=8)
    axis.set(xlabel="predicted", ylabel="true", title=title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, col), value in np.ndenumerate(matrix):
        if value:
            axis.text(col, row, str(value), ha="center", va="center", fontsize=8,
                      color="white" if value > threshold else "black")
    return figure_png(figure)


def html_page(title: str, sections: list[tuple[str, str]]) -> str:
    """A self-contained HTML page: each section a heading and HTML body (images inline)."""
    body = "\n".join(f"<section><h2>{escape(heading)}</h2>\n{content}\n</section>"
                     for heading, content in sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; }}
table {{ border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }}
th, td {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
th {{ background: #f2f4f7; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }}
figure {{ margin: 0; }} figcaption {{ font-size: .85rem; color: #555; }}
p.note {{ color: #555; font-size: .9rem; }}
</style></head><body>
<h1>{escape(title)}</h1>
{body}
</body></html>
"""


def html_image(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode()
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def html_table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, border=0, na_rep="—", float_format=lambda v: f"{v:.4g}")
