"""segval: segment grayscale microscopy images by thresholding and validate masks against ground truth.

The package is a library of pure functions on numpy arrays, one module per concern; the Snakemake
workflow's step scripts (``scripts/*.py``) are thin wrappers around it.  Import the modules you need
(``from segval import metrics``): this file imports nothing, so that each step pays only for what it
uses.
"""

__version__ = "0.1.0"
