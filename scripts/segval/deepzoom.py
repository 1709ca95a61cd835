"""Deep Zoom (DZI) tile pyramids of full-resolution overlays, for slices larger than the preview.

A Deep Zoom image of ``width`` x ``height`` has levels ``0 .. top`` with ``top = ceil(log2(max(width,
height)))``; level ``k`` is the image reduced by ``2 ** (top - k)`` (level ``top`` is full
resolution), cut into ``tile`` x ``tile`` PNGs ``<name>_files/<k>/<column>_<row>.png`` (no overlap),
described by ``<name>.dzi``.  Viewers such as OpenSeadragon load only the tiles on screen.

Every level is reduced from the confusion codes, not from colours: a block shows FN, else FP, else
TP, else TN (:func:`segval.downsample.block_confusion`), so one-pixel errors stay visible at every
zoom level, as in the overlay previews.
"""

import math

#: Edge of the pyramid's tiles in pixels (OpenSeadragon's default).
TILE = 256


def top_level(width, height):
    """Index of the full-resolution level.

    >>> top_level(1, 1), top_level(256, 256), top_level(257, 10), top_level(17480, 8026)
    (0, 8, 9, 15)
    """
    return max(0, math.ceil(math.log2(max(width, height))))


def level_shape(width, height, level, top):
    """``(width, height)`` of ``level`` (each halving rounds up).

    >>> level_shape(17480, 8026, 15, 15), level_shape(17480, 8026, 12, 15), level_shape(5, 3, 0, 3)
    ((17480, 8026), (2185, 1004), (1, 1))
    """
    factor = 2 ** (top - level)
    return -(-width // factor), -(-height // factor)


def tiles_of(width, height, tile=TILE):
    """``(column, row, x0, x1, y0, y1)`` of the tiles of a ``width`` x ``height`` level.

    >>> list(tiles_of(300, 200))
    [(0, 0, 0, 256, 0, 200), (1, 0, 256, 300, 0, 200)]
    """
    for row, y0 in enumerate(range(0, height, tile)):
        for column, x0 in enumerate(range(0, width, tile)):
            yield column, row, x0, min(x0 + tile, width), y0, min(y0 + tile, height)


def dzi_xml(width, height, tile=TILE):
    """The ``.dzi`` descriptor.

    >>> print(dzi_xml(300, 200), end="")
    <?xml version="1.0" encoding="UTF-8"?>
    <Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="png" Overlap="0" TileSize="256">
    <Size Width="300" Height="200"/>
    </Image>
    """
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="png" Overlap="0" TileSize="{tile}">\n'
        f'<Size Width="{width}" Height="{height}"/>\n</Image>\n'
    )
