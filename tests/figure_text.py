"""Text placement checks for rendered figures: no two pieces of drawn text overlap."""

from __future__ import annotations

from typing import Any

from matplotlib.text import Text


def drawn_texts(fig: Any) -> list[tuple[str, Any]]:
    """Every non-empty text the renderer draws, with its window extent (tick labels outside the view excluded)."""
    from models.plotting import SAVE_DPI

    fig.set_dpi(SAVE_DPI)  # as saved: text widths depend on the resolution
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    hidden: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            drawn = {id(lab) for tick in axis._update_ticks() for lab in (tick.label1, tick.label2)}
            hidden |= {id(lab) for tick in axis.get_major_ticks() for lab in (tick.label1, tick.label2)} - drawn
            hidden |= {id(lab) for tick in axis.get_minor_ticks() for lab in (tick.label1, tick.label2)} - drawn
    out = []
    for t in fig.findobj(Text):
        if id(t) in hidden or not t.get_visible() or not t.get_text().strip():
            continue
        box = t.get_window_extent(renderer)
        if box.width >= 1 and box.height >= 1:
            out.append((t.get_text(), box))
    return out


def overlapping_texts(fig: Any, *, tolerance_px: float = 2.0) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose boxes overlap by more than ``tolerance_px`` pixels each way."""
    texts = drawn_texts(fig)
    pairs = []
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1 :]:
            if box_a.padded(-tolerance_px).overlaps(box_b.padded(-tolerance_px)):
                pairs.append((a, b))
    return pairs
