"""Pictures returned as node outputs: labelled sweep grids, loss curves (Pillow, imported only here)."""
