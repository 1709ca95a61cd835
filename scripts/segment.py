"""Segment one denoised chunk: mask = value > threshold (0/255), with the method's global threshold,
or a local threshold computed on tiles with halos (read across chunk borders where needed); then,
if configured, remove small objects and fill small holes on each whole slice."""

import json

import numpy as np

from segval.local_thresholds import local_halo, local_mask
from segval.masks import MaskReader, ThresholdTable, mask_bytes
from segval.postprocess import fill_small_holes, remove_small_objects
from segval.runner import run_step, shared_reader
from segval.stitching import ChunkSet, write_mask_chunk
from segval.tiling import Plan, read_padded


def main(smk):
    plan = Plan.load(smk.input.plan)
    chunk = plan.chunk(smk.wildcards.chunk)
    with open(smk.input.threshold) as handle:
        result = json.load(handle)
    _, height, width = plan.shape
    neighbours = plan.subset(smk.params.denoised_chunks)  # the chunks holding this chunk's slices
    local = result.get("local")
    if local:
        name, params = local["name"], local["params"]
        halo = local_halo(name, params)
    else:
        table = ThresholdTable(result)
    min_object, max_hole = smk.params.min_object_size, smk.params.max_hole_size
    roi = MaskReader(smk.input.roi[0]) if smk.input.roi else None  # background outside the ROI
    read_roi = roi and shared_reader(smk, "roi", tuple(smk.input.roi), roi.read)

    with ChunkSet(list(smk.input.denoised), neighbours) as denoised:
        # Every method of the job thresholds the same tiles: read once (SharedReads).
        read = shared_reader(smk, "denoised", tuple(smk.input.denoised), denoised.read)

        def tile_mask(tile):
            if local:
                padded = read_padded(
                    denoised.read, plan.shape, tile.z, tile.y0, tile.y1, tile.x0, tile.x1, halo
                )
                mask = local_mask(padded, name, params)
            else:
                values = read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1)
                mask = mask_bytes(values, table.threshold(tile.z, tile.row, tile.col))  # 0/255
            if roi:  # a bool or 0/255 mask, times the ROI (0/1)
                mask = mask * read_roi(tile.z, tile.y0, tile.y1, tile.x0, tile.x1)
            return mask

        def cleaned_tiles():
            """Clean-up is not local: each whole slice's mask is built, cleaned, then cut again."""
            tiles = list(plan.tiles(chunk))
            for z in range(chunk.z0, chunk.z1):
                on_slice = [tile for tile in tiles if tile.z == z]
                mask = np.zeros((height, width), bool)
                for tile in on_slice:
                    mask[tile.y0 : tile.y1, tile.x0 : tile.x1] = tile_mask(tile)
                if min_object:
                    mask = remove_small_objects(mask, min_object)
                if max_hole:
                    mask = fill_small_holes(mask, max_hole)
                for tile in on_slice:
                    yield mask[tile.y0 : tile.y1, tile.x0 : tile.x1]

        masks = (
            cleaned_tiles()
            if (min_object or max_hole)
            else (tile_mask(tile) for tile in plan.tiles(chunk))
        )
        shape = (chunk.z1 - chunk.z0, chunk.y1 - chunk.y0, width)
        tiles = (
            mask if mask.dtype == np.uint8 else mask.view(np.uint8) * np.uint8(255)
            for mask in map(np.ascontiguousarray, masks)
        )
        positions = [(t.z, t.y0, t.x0) for t in plan.tiles(chunk)]
        zarr_image = smk.input.zarr[0] if smk.input.zarr else None
        pyramid = plan.pyramid(chunk, "max")
        write_mask_chunk(
            smk.output[0], tiles, shape, plan.tile_size, pyramid, zarr_image, positions
        )


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
