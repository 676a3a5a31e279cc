"""One picture, two media: a reportlab `Drawing` is placed in the PDF as it is and written out as SVG here.

Every chart (the segmental map, the progress chart) is defined once, as a Drawing; the PDF and the SVG are
two renderings of that same object, so they cannot disagree. This renderer knows the handful of shapes our
charts use and refuses any other (a silently dropped shape would be a disagreement). It writes plain,
y-down SVG with tooltips (`<title>`) and CSS classes that reportlab's own SVG renderer cannot express;
`tag()` attaches them to a shape without affecting the PDF.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from reportlab.graphics.shapes import Circle, Drawing, Group, Line, PolyLine, Rect, Shape, String
from reportlab.lib.colors import Color

FONT_WEIGHT = {"Helvetica-Bold": "bold"}
ANCHOR = {"start": "start", "middle": "middle", "end": "end"}


def tag(shape: Shape, cls: str | None = None, title: str | None = None) -> Shape:
    """Give a shape an SVG class and a tooltip (ignored by the PDF). Returns the shape for chaining."""
    extra: dict[str, str] = dict(getattr(shape, "_svg_extra", {}))
    if cls:
        extra["class"] = cls
    if title:
        extra["title"] = title
    shape._svg_extra = extra  # type: ignore[attr-defined]
    return shape


def _colour(c: Color | None) -> str:
    return "none" if c is None else "#" + c.hexval()[2:]


def _paint(shape: Any) -> str:
    out = []
    if hasattr(shape, "fillColor"):
        out.append(f'fill="{_colour(shape.fillColor)}"')
        if getattr(shape, "fillOpacity", None) is not None:
            out.append(f'fill-opacity="{shape.fillOpacity:.2f}"')
    stroke = getattr(shape, "strokeColor", None)
    out.append(f'stroke="{_colour(stroke)}"')
    if stroke is not None:
        out.append(f'stroke-width="{shape.strokeWidth:g}"')
        if getattr(shape, "strokeDashArray", None):
            out.append(f'stroke-dasharray="{" ".join(f"{v:g}" for v in shape.strokeDashArray)}"')
    return " ".join(out)


def _open(name: str, attrs: str, shape: Any) -> tuple[str, str]:
    extra = getattr(shape, "_svg_extra", {})
    cls = f" class={quoteattr(extra['class'])}" if "class" in extra else ""
    title = f"<title>{escape(extra['title'])}</title>" if "title" in extra else ""
    return f"<{name} {attrs}{cls}", title


def _element(shape: Any, height: float) -> list[str]:
    def y(v: float) -> float:
        return height - v

    if isinstance(shape, Group):
        if tuple(shape.transform) != (1, 0, 0, 1, 0, 0):
            raise ValueError("transformed groups are not supported by this SVG renderer")
        return [line for child in shape.contents for line in _element(child, height)]
    if isinstance(shape, Rect):
        attrs = (f'x="{shape.x:.1f}" y="{y(shape.y + shape.height):.1f}" width="{shape.width:.1f}" '
                 f'height="{shape.height:.1f}"' + (f' rx="{shape.rx:g}"' if shape.rx else "") + " " + _paint(shape))
        head, title = _open("rect", attrs, shape)
    elif isinstance(shape, String):
        weight = FONT_WEIGHT.get(shape.fontName)
        attrs = (f'x="{shape.x:.1f}" y="{y(shape.y):.1f}" font-size="{shape.fontSize:g}" '
                 f'text-anchor="{ANCHOR[shape.textAnchor]}" fill="{_colour(shape.fillColor)}"'
                 + (f' font-weight="{weight}"' if weight else ""))
        head, title = _open("text", attrs, shape)
        return [f"{head}>{title}{escape(shape.text)}</text>"]
    elif isinstance(shape, Line):
        attrs = f'x1="{shape.x1:.1f}" y1="{y(shape.y1):.1f}" x2="{shape.x2:.1f}" y2="{y(shape.y2):.1f}" {_paint(shape)}'
        head, title = _open("line", attrs, shape)
    elif isinstance(shape, PolyLine):
        pts = shape.points
        coords = " ".join(f"{pts[i]:.1f},{y(pts[i + 1]):.1f}" for i in range(0, len(pts), 2))
        head, title = _open("polyline", f'points="{coords}" fill="none" {_paint(shape)}', shape)
    elif isinstance(shape, Circle):
        head, title = _open("circle", f'cx="{shape.cx:.1f}" cy="{y(shape.cy):.1f}" r="{shape.r:g}" {_paint(shape)}',
                            shape)
    else:
        raise ValueError(f"{type(shape).__name__} is not supported by this SVG renderer")
    return [f"{head}>{title}</{head.split()[0][1:]}>" if title else f"{head}/>"]


def to_svg(drawing: Drawing, title: str, desc: str | None = None) -> str:
    """The drawing as a standalone SVG document (white background, Helvetica like the PDF)."""
    w, h = drawing.width, drawing.height
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:g}" height="{h:g}" viewBox="0 0 {w:g} {h:g}" '
           'font-family="Helvetica, Arial, sans-serif" role="img">',
           f"<title>{escape(title)}</title>"]
    if desc:
        out.append(f"<desc>{escape(desc)}</desc>")
    out.append('<rect width="100%" height="100%" fill="#ffffff"/>')
    for shape in drawing.contents:
        out += _element(shape, h)
    out.append("</svg>")
    return "\n".join(out)
