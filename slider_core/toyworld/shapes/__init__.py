"""The second toy world, "shapes": one flat-coloured ellipse on a grey background (pure torch, no ComfyUI).

It exists so that no default of the pack is tuned to a single world: it shares nothing of the blob world's make
but the 16x16 SD1.x latent shape. Its layout is opponent colour (lightness, warm–cool, green–magenta) plus a
coverage mask instead of RGB + coverage; the background is grey at a varying lightness instead of black; the
object varies in shape (tall ↔ wide at a constant area) and in position on both axes; and its training data ties vertical
position to the background (objects high in the frame mostly on light backgrounds, like things against a sky).

`scenes` samples, renders and captions scenes, `metrics` measures them back from generated latents, and
`prompts` holds the world's slider specifications, prompt checks and image pairs.
"""
