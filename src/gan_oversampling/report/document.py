"""A report as a document: sections of paragraphs, tables and images, and how it is
written out as Markdown and as HTML. The other report modules build its blocks."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from gan_oversampling.report import tables


@dataclass
class Table:
    caption: str
    frame: pd.DataFrame
    digits: int = 4
    index: bool = False


@dataclass
class Image:
    file: str
    alt: str


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)  # paragraphs (str), Table and Image


# -- rendering ------------------------------------------------------------------------------
def _text_frame(table: Table) -> pd.DataFrame:
    """Every cell as text; a meaningful index becomes the first column."""
    frame = table.frame.map(lambda value: tables.number_text(value, table.digits))
    if table.index:
        labels = [tables.level_text(label) for label in frame.index]
        frame.insert(0, str(table.frame.index.name or ""), labels)
    return frame.reset_index(drop=True)


def render_markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                lines += [f"*{block.caption}*", "", _markdown_table(block), ""]
            elif isinstance(block, Image):
                lines += [f"![{block.alt}]({block.file})", ""]
            else:
                lines += [block, ""]
    return "\n".join(lines)


def _markdown_table(table: Table) -> str:
    frame = _text_frame(table)
    lines = [list(frame.columns), ["---"] * frame.shape[1], *frame.to_numpy().tolist()]
    return "\n".join("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
                     for cells in lines)


STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
p.caption{font-style:italic;margin-bottom:0}
img{max-width:100%}"""


def render_html(title: str, sections: list[Section]) -> str:
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Table):
                parts.append(f"<p class=\"caption\">{html.escape(block.caption)}</p>")
                parts.append(_text_frame(block).to_html(index=False, border=0))
            elif isinstance(block, Image):
                parts.append(f"<p><img src=\"{html.escape(block.file)}\" "
                             f"alt=\"{html.escape(block.alt)}\"></p>")
            else:
                parts.append(f"<p>{html.escape(block)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
