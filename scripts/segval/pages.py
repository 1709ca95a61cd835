"""The results as web pages: ``results/index.html`` (the answer, the ranking, the per-image scores,
one thumbnail per sample) and one page per sample (overlays, histogram, tile maps, metrics).

Pure functions: data in, an HTML string out.  Every text that comes from the data is escaped.  The
pages stand alone: inline CSS, a few lines of inline JavaScript (sortable tables), no server, no
network, only relative links to files next to them, so they open from disk and can be copied with
the results folder.

Examples
--------
>>> print(cell(0.123456), cell(None), cell("a<b"), cell(12))
0.1235 – a&lt;b 12
"""

import html
import math
import re

#: What each column of the ranking means (tool tips of the table headers).
HELP = {
    "pooled": "score of the confusion counts summed over all images (each pixel weighs the same)",
    "95 % interval": "bootstrap percentile interval over images (none from a single image)",
    "mean": "mean of the images' own scores (each image weighs the same)",
    "images": "images the row is scored on",
    "not found": "images where the method found no threshold (scored as an all-background mask)",
}

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em auto;max-width:72em;
padding:0 1em;color:#1d2330;background:#fff}
h1{font-size:1.5em;margin:.2em 0 .4em}h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid #dde}
.answer{font-size:1.12em;background:#eef5ff;border-left:4px solid #2a6fdb;padding:.7em 1em;margin:0 0 1em}
.note{color:#555;font-size:.92em}
table{border-collapse:collapse;margin:.4em 0 1em;font-variant-numeric:tabular-nums}
th,td{padding:.25em .7em;border-bottom:1px solid #e3e6ee;text-align:right;white-space:nowrap}
th{background:#f3f5f9;cursor:pointer;user-select:none;position:sticky;top:0}
th.text,td.text{text-align:left}
th.sorted-asc::after{content:" \\25B2"}th.sorted-desc::after{content:" \\25BC"}
tr.chosen td{background:#e6f6e6;font-weight:600}tr.reference td{background:#fff6dd;font-style:italic}
.tag{display:inline-block;font-size:.78em;padding:0 .45em;border-radius:.6em;margin-left:.4em;font-style:normal}
.tag.chosen{background:#2e8b3a;color:#fff}.tag.reference{background:#b8860b;color:#fff}
.thumbs{display:flex;flex-wrap:wrap;gap:1em}.thumbs a{text-decoration:none;color:inherit;text-align:center}
.thumbs img{display:block;border:1px solid #ccd;width:200px;height:auto;image-rendering:pixelated}
figure{margin:.5em 0 1.2em}figure img{max-width:100%;border:1px solid #ccd}
.overlays{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:0 1.2em}
.overlays figure img{width:100%;height:auto;image-rendering:pixelated}
figcaption{font-size:.9em;color:#444}
.legend span{display:inline-block;width:.9em;height:.9em;border:1px solid #888;vertical-align:middle;margin:0 .3em 0 .8em}
.zoom{width:100%;height:70vh;border:1px solid #ccd;background:#000}
.scroll{overflow-x:auto}
details{margin:.3em 0}summary{cursor:pointer;font-weight:600}
"""

#: Click a header to sort by it (numbers as numbers, blanks last); the page works without it.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th, column) {
  th.title = th.title || "click to sort";
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var descending = th.classList.contains("sorted-asc");
    table.querySelectorAll("th").forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
    th.classList.add(descending ? "sorted-desc" : "sorted-asc");
    var key = function (row) {
      var text = row.cells[column].getAttribute("data-value") || row.cells[column].textContent;
      var number = parseFloat(text);
      return isNaN(number) ? text : number;
    };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b), order;
      if (typeof x === "number" && typeof y === "number") order = x - y;
      else if (typeof x === "number") order = -1;
      else if (typeof y === "number") order = 1;
      else order = String(x).localeCompare(String(y));
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def esc(text):
    """HTML-escaped text (quotes too, for attributes).

    >>> esc('<a href="x">')
    '&lt;a href=&quot;x&quot;&gt;'
    """
    return html.escape(str(text), quote=True)


def number(value, digits=3):
    """A score for people: ``digits`` decimals, "–" when undefined.

    >>> number(0.87123), number(None), number(float("nan")), number(79)
    ('0.871', '–', '–', '79')
    """
    if value is None or value == "":
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def cell(value):
    """Table cell text: 4 significant digits for floats, "–" for missing, escaped."""
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.4g}"
    return "–" if value is None else esc(value)


def interval(low, high):
    """A 95 % interval as text, or a reason for its absence.

    >>> interval(0.81, 0.9), interval(None, None)
    ('0.810–0.900', 'no interval from a single image')
    """
    if number(low) == "–" or number(high) == "–":
        return "no interval from a single image"
    return f"{number(low)}–{number(high)}"


def table(columns, rows, classes=None, help=None, sortable=True):
    """An HTML table.

    Parameters
    ----------
    columns : list of str
        Header texts.
    rows : list of list
        Cell values (numbers are formatted, text escaped; a ``("html", text)`` tuple is inserted as
        is: the caller escaped it; a ``("score", value)`` tuple shows 3 decimals).
    classes : list of str, optional
        A class per row (e.g. "chosen", "reference").
    help : dict, optional
        Header tool tips.

    >>> print(table(["method", "mcc"], [["otsu", 0.5]], sortable=False))
    <table><thead><tr><th class="text">method</th><th>mcc</th></tr></thead>
    <tbody><tr><td class="text">otsu</td><td data-value="0.5">0.5</td></tr></tbody></table>
    """
    help = help or {}
    # Text columns (judged by the first row) are left-aligned, numbers right-aligned, headers alike.
    numeric = [
        (isinstance(v, (int, float)) and not isinstance(v, bool))
        or (isinstance(v, tuple) and v[0] == "score")
        for v in (rows[0] if rows else columns)
    ]
    head = ""
    for column, is_number in zip(columns, numeric):
        attributes = "" if is_number else ' class="text"'
        attributes += f' title="{esc(help[column])}"' if column in help else ""
        head += f"<th{attributes}>{esc(column)}</th>"
    body = []
    for index, row in enumerate(rows):
        cells = []
        for value in row:
            if isinstance(value, tuple) and value[0] == "html":
                cells.append(f'<td class="text">{value[1]}</td>')
            elif isinstance(value, tuple) and value[0] == "score":  # 3 decimals, as in the answer
                cells.append(f'<td data-value="{value[1]!r}">{number(value[1])}</td>')
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                cells.append(f'<td data-value="{value!r}">{cell(value)}</td>')
            else:
                cells.append(f'<td class="text">{cell(value)}</td>')
        kind = (classes or [""] * len(rows))[index]
        body.append((f'<tr class="{esc(kind)}">' if kind else "<tr>") + "".join(cells) + "</tr>")
    css = ' class="sortable"' if sortable else ""
    return f"<table{css}><thead><tr>{head}</tr></thead>\n<tbody>{''.join(body)}</tbody></table>"


def document(title, body, scripts=(), head=""):
    """A complete standalone page (inline CSS and scripts; ``scripts`` are relative paths)."""
    tags = "".join(f'<script src="{esc(src)}"></script>' for src in scripts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style>{tags}{head}</head>\n<body>\n{body}\n"
        f"<script>{SORT_SCRIPT}</script>\n</body></html>\n"
    )


def answer(selection, metric_name=None):
    """The answer in one sentence (plain text): chosen pipeline, pooled score with its 95 % interval,
    the out-of-sample estimate, the number of images and the human agreement where given.

    Parameters
    ----------
    selection : dict or None
        ``results/selection.json`` (None: no sample had ground truth).

    Examples
    --------
    >>> s = {"metric": "mcc", "winner": "median3.otsu", "images": ["a", "b", "c"],
    ...      "ranking": [{"method": "median3.otsu", "pooled": 0.8712, "pooled_low": 0.85,
    ...                   "pooled_high": 0.89}], "scheme": "leave-one-image-out",
    ...      "out_of_sample": 0.865,
    ...      "references": [{"method": "given.observer2", "pooled": 0.759, "pooled_low": None,
    ...                      "pooled_high": None, "images": 1}]}
    >>> print(answer(s))
    Chosen pipeline: median3.otsu, pooled MCC 0.871 (95 % interval 0.850–0.890) over 3 images; \
on images that did not choose it (leave-one-image-out) MCC 0.865. Human agreement \
(observer2 against the ground truth): MCC 0.759 on 1 image.
    >>> print(answer(None))
    No sample has ground truth, so no method was scored or chosen: see the segmentations below.
    """
    if not selection or not selection.get("winner"):
        return "No sample has ground truth, so no method was scored or chosen: see the segmentations below."
    metric = (metric_name or selection["metric"]).upper()
    best = next(row for row in selection["ranking"] if row["method"] == selection["winner"])
    images = len(selection["images"])
    spread = interval(best.get("pooled_low"), best.get("pooled_high"))
    spread = f"95 % interval {spread}" if spread[0].isdigit() or spread[0] == "-" else spread
    text = (
        f"Chosen pipeline: {selection['winner']}, pooled {metric} {number(best['pooled'])} ({spread}) "
        f"over {images} image{'s' if images != 1 else ''}; "
    )
    if selection.get("scheme") == "none":
        text += "no out-of-sample estimate: it needs at least two images."
    else:
        text += f"on images that did not choose it ({selection['scheme']}) {metric} {number(selection['out_of_sample'])}."
    for ref in selection.get("references", []):
        low, high = ref.get("pooled_low"), ref.get("pooled_high")
        extra = "" if number(low) == "–" else f" (95 % interval {interval(low, high)})"
        count = ref["images"]
        text += (
            f" Human agreement ({reference_label(ref['method'])} against the ground truth): "
            f"{metric} {number(ref['pooled'])}{extra} on {count} image{'s' if count != 1 else ''}."
        )
    return text


def reference_label(method):
    """The expert's label of a reference method ("given.observer2" -> "observer2").

    >>> reference_label("given.observer2")
    'observer2'
    """
    return method.split(".", 1)[1] if method.startswith("given.") else method


def ranking_table(selection):
    """The ranking, then the references (labelled, unranked), as an HTML table."""
    metric = selection["metric"].upper()
    columns = [
        "rank",
        "pipeline",
        f"pooled {metric}",
        "95 % interval",
        f"mean {metric}",
        "images",
        "not found",
    ]
    rows, classes = [], []
    for row in selection["ranking"]:
        chosen = row["method"] == selection["winner"]
        name = esc(row["method"]) + (' <span class="tag chosen">chosen</span>' if chosen else "")
        rows.append(
            [
                row["rank"],
                ("html", name),
                ("score", _none(row["pooled"])),
                interval(row["pooled_low"], row["pooled_high"]),
                ("score", _none(row["mean"])),
                row["images"],
                row["not_found"],
            ]
        )
        classes.append("chosen" if chosen else "")
    for row in selection.get("references", []):
        name = (
            esc(reference_label(row["method"]))
            + ' <span class="tag reference">reference (human)</span>'
        )
        rows.append(
            [
                "reference",
                ("html", name),
                ("score", _none(row["pooled"])),
                interval(row["pooled_low"], row["pooled_high"]),
                ("score", _none(row["mean"])),
                row["images"],
                "–",
            ]
        )
        classes.append("reference")
    help = {
        f"pooled {metric}": HELP["pooled"],
        "95 % interval": HELP["95 % interval"],
        f"mean {metric}": HELP["mean"],
        "images": HELP["images"],
        "not found": HELP["not found"],
    }
    return table(columns, [[_none(v) for v in r] for r in rows], classes, help)


def _none(value):
    return math.nan if value is None else value


#: Columns of the per-image table, in order, when present in the summary.
IMAGE_COLUMNS = (
    "threshold",
    "mcc",
    "f1",
    "jaccard",
    "precision",
    "recall",
    "accuracy",
    "hd95",
    "edge_case",
    "status",
)


def per_image_table(rows, winner=None, references=(), pages=None):
    """Per-image scores (one row per sample and pipeline) from ``results/summary.tsv`` rows;
    ``pages`` maps a sample to its page's address (default ``samples/<sample>.html``)."""
    present = [c for c in IMAGE_COLUMNS if rows and c in rows[0]]
    out, classes = [], []
    for row in rows:
        if row.get("sample") == "ALL":
            continue
        method = f"{row['prep']}.{row['method']}"
        kind = "reference" if method in references else ("chosen" if method == winner else "")
        name = esc(reference_label(method) + " (reference)" if kind == "reference" else method)
        page = (pages or {}).get(row["sample"], f"samples/{row['sample']}.html")
        link = f'<a href="{esc(page)}">{esc(row["sample"])}</a>'
        out.append([("html", link), ("html", name)] + [_none(row.get(c)) for c in present])
        classes.append(kind)
    return table(["sample", "pipeline"] + list(present), out, classes)


def index_page(selection, summary_rows, samples, selection_plot=None, title="segval results"):
    """``results/index.html``.

    Parameters
    ----------
    selection : dict or None
        ``results/selection.json``.
    summary_rows : list of dict
        ``results/summary.tsv``.
    samples : list of dict
        ``{"sample", "page", "thumbnail", "caption"}`` (paths relative to the page).
    selection_plot : str, optional
        Path of the methods x images heat map.
    """
    body = [f"<h1>{esc(title)}</h1>", f'<p class="answer" id="answer">{esc(answer(selection))}</p>']
    references = [row["method"] for row in (selection or {}).get("references", [])]
    if selection and selection.get("ranking"):
        body.append("<h2>Ranking</h2>")
        body.append(
            f'<p class="note">Ranked by the pooled {esc(selection["metric"].upper())} on the same '
            f"{len(selection['images'])} image(s); the interval is a bootstrap over images. "
            "Reference rows are another expert's tracings scored against the ground truth: the human "
            "agreement level, never ranked nor chosen.</p>"
        )
        body.append(f'<div class="scroll">{ranking_table(selection)}</div>')
        if selection.get("left_out"):
            missing = "; ".join(
                f"{esc(m)} (no {esc(', '.join(i))})" for m, i in selection["left_out"].items()
            )
            body.append(
                f'<p class="note">Left out of the ranking for lack of images: {missing}.</p>'
            )
    body.append("<h2>Per image</h2>")
    body.append(
        f'<div class="scroll">{per_image_table(summary_rows, (selection or {}).get("winner"), references, {c["sample"]: c["page"] for c in samples})}</div>'
    )
    if selection_plot:
        body.append(
            f'<figure><img src="{esc(selection_plot)}" alt="score per method and image" loading="lazy">'
            "<figcaption>Score of every pipeline on every image (ranking order).</figcaption></figure>"
        )
    body.append("<h2>Samples</h2>")
    body.append('<div class="thumbs">')
    for sample in samples:
        picture = (
            f'<img src="{esc(sample["thumbnail"])}" alt="{esc(sample["sample"])}">'
            if sample.get("thumbnail")
            else ""
        )
        body.append(
            f'<a href="{esc(sample["page"])}">{picture}<span>{esc(sample["sample"])}</span>'
            f'<br><span class="note">{esc(sample.get("caption", ""))}</span></a>'
        )
    body.append("</div>")
    return document(title, "\n".join(body))


def dzi_tile_size(path):
    """The tile size a Deep Zoom descriptor (``.dzi``) declares: the viewer must use the pyramid's.

    >>> import pathlib, tempfile
    >>> dzi = pathlib.Path(tempfile.mkdtemp()) / "z0000.dzi"
    >>> _ = dzi.write_text('<Image Format="png" Overlap="0" TileSize="512"><Size/></Image>')
    >>> dzi_tile_size(dzi)
    512
    """
    with open(path) as handle:
        return int(re.search(r'TileSize="(\d+)"', handle.read()).group(1))


def legend(colours):
    """The overlay colour key, e.g. ``{"tp": [0, 255, 255], ...}``."""
    names = {
        "tp": "true positive",
        "fp": "false positive",
        "fn": "false negative",
        "tn": "true negative",
    }
    keys = "".join(
        f'<span style="background:rgb({",".join(str(int(v)) for v in colours[k])})"></span>{names[k]}'
        for k in ("tp", "fp", "fn", "tn")
        if k in colours
    )
    return f'<p class="legend note">Overlay colours:{keys}</p>'


#: The zoom viewer: OpenSeadragon on two Deep Zoom pyramids, the confusion codes (palette PNGs with
#: the overlay's colours and opacity) over the image; marks the page once a tile has loaded.
ZOOM_SCRIPT = r"""
function startViewer(element) {
  if (element.getAttribute("data-started")) return;
  element.setAttribute("data-started", "yes");
  // The pyramids described inline: browsers refuse to fetch the .dzi file of a page opened from disk.
  function source(dzi) {
    return {Image: {xmlns: "http://schemas.microsoft.com/deepzoom/2008",
      Url: dzi.replace(/\.dzi$/, "_files/"), Format: "png", Overlap: "0",
      TileSize: element.getAttribute("data-tile"),
      Size: {Width: element.getAttribute("data-width"), Height: element.getAttribute("data-height")}}};
  }
  var layers = [source(element.getAttribute("data-image")), source(element.getAttribute("data-dzi"))];
  var viewer = OpenSeadragon({element: element, tileSources: layers,
    prefixUrl: element.getAttribute("data-icons"), showNavigator: true, maxZoomPixelRatio: 8, drawer: "canvas",
    imageSmoothingEnabled: false});
  viewer.addHandler("tile-loaded", function () { document.body.setAttribute("data-zoom-tiles", "loaded"); });
  viewer.addHandler("open-failed", function (event) { element.textContent = "cannot open " + event.message; });
}
document.querySelectorAll("details").forEach(function (details) {
  var element = details.querySelector(".zoom");
  if (!element) return;
  if (details.open) startViewer(element);
  details.addEventListener("toggle", function () { if (details.open) startViewer(element); });
});
"""


def _per_chain(plots):
    """``[(preprocessing, path)]`` of a plot argument: none, one path, or one per chain."""
    if not plots:
        return []
    return [("", plots)] if isinstance(plots, str) else [tuple(plot) for plot in plots]


def sample_page(
    sample,
    overlays,
    histogram=None,
    tile_maps=(),
    methods_plot=None,
    metrics=(),
    colours=None,
    zooms=(),
    viewer=None,
    note="",
):
    """One sample's page.

    Parameters
    ----------
    sample : str
    overlays : list of dict
        ``{"method", "path", "kind"}`` (kind "chosen", "reference" or "").
    histogram, methods_plot : str or list of (str, str), optional
        Relative path of the plot, or ``(preprocessing, path)`` of one plot per preprocessing chain.
    tile_maps : list of (str, str)
        ``(method, path)`` of tile maps (only for images of more than one tile).
    metrics : list of dict
        Rows of the sample's metrics tables (image and slice scope).
    zooms : list of dict
        ``{"method", "dzi", "image", "width", "height", "tile", "open"}``: the Deep Zoom pyramids of a
        full-resolution overlay: the confusion codes (``dzi``), drawn over the image's (``image``)
        (``tile``: their tile size; ``open``: shown when the page opens, else when its heading is clicked).
    viewer : str, optional
        Relative folder of OpenSeadragon (``openseadragon.min.js`` and ``images/``).
    """
    body = [
        '<p class="note"><a href="../index.html">&larr; all results</a></p>',
        f"<h1>{esc(sample)}</h1>",
    ]
    if note:
        body.append(f'<p class="note">{esc(note)}</p>')
    if metrics:
        body.append("<h2>Metrics</h2>")
        columns = ["pipeline", "scope", "z"] + [
            c
            for c in ("threshold",) + IMAGE_COLUMNS[1:] + ("tp", "fp", "fn", "tn")
            if c in metrics[0]
            and c != "threshold"
            or c == "threshold"
            and "threshold" in metrics[0]
        ]
        rows, classes = [], []
        for row in metrics:
            name = f"{row['prep']}.{row['method']}"
            if row.get("_kind") == "reference":
                name = f"{reference_label(name)} (reference)"
            rows.append(
                [name, row.get("scope", ""), row.get("z", "")]
                + [_none(row.get(c)) for c in columns[3:]]
            )
            classes.append(row.get("_kind", ""))
        body.append(f'<div class="scroll">{table(columns, rows, classes)}</div>')
    if zooms and viewer:
        body.append("<h2>Full resolution</h2>")
        body.append(
            '<p class="note">Drag to pan, scroll to zoom. Every zoom level keeps errors visible: a '
            "screen pixel shows FN, else FP, else TP of the pixels it covers.</p>"
        )
        for zoom in zooms:  # closed ones start their viewer when opened (a page may hold many)
            body.append(
                f"<details{' open' if zoom.get('open') else ''}><summary>{esc(zoom['method'])}</summary>"
                f'<div class="zoom" data-dzi="{esc(zoom["dzi"])}" data-image="{esc(zoom["image"])}" '
                f'data-width="{zoom["width"]}" '
                f'data-height="{zoom["height"]}" data-tile="{zoom["tile"]}" '
                f'data-icons="{esc(viewer)}/images/"></div></details>'
            )
    body.append("<h2>Overlays</h2>")
    if colours:
        body.append(legend(colours))
    body.append('<div class="overlays">')
    for overlay in overlays:
        tag = {
            "chosen": ' <span class="tag chosen">chosen</span>',
            "reference": ' <span class="tag reference">reference (human)</span>',
        }.get(overlay.get("kind", ""), "")
        body.append(
            f'<figure><a href="{esc(overlay["path"])}"><img src="{esc(overlay["path"])}" '
            f'alt="overlay {esc(overlay["method"])}" loading="lazy"></a>'
            f"<figcaption>{esc(overlay['method'])}{tag}</figcaption></figure>"
        )
    body.append("</div>")
    histograms, methods_plots = _per_chain(histogram), _per_chain(methods_plot)
    if histograms:
        body.append("<h2>Histogram and thresholds</h2>")
    for prep, path in histograms:
        body.append(
            f'<figure><img src="{esc(path)}" alt="histogram {esc(prep)}"><figcaption>'
            + (f"{esc(prep)}: " if prep else "")
            + "Thresholds are on the processed scale (after inversion when <code>invert: true</code>); "
            "the legend also gives them on the original intensity scale.</figcaption></figure>"
        )
    if methods_plots:
        body.append("<h2>Methods side by side</h2>")
    for prep, path in methods_plots:
        body.append(
            f'<figure><img src="{esc(path)}" alt="methods {esc(prep)}" loading="lazy">'
            + (f"<figcaption>{esc(prep)}</figcaption>" if prep else "")
            + "</figure>"
        )
    if tile_maps:
        body.append("<h2>Tile maps</h2>")
        for method, path in tile_maps:
            body.append(
                f'<figure><img src="{esc(path)}" alt="tile map {esc(method)}" loading="lazy">'
                f"<figcaption>{esc(method)}</figcaption></figure>"
            )
    scripts = [f"{viewer}/openseadragon.min.js"] if zooms and viewer else []
    page = document(f"segval: {sample}", "\n".join(body), scripts)
    if scripts:
        page = page.replace("</body></html>", f"<script>{ZOOM_SCRIPT}</script>\n</body></html>")
    return page
