"""Training: the Denoiser contract, run scaffolding, the text and image-pair loops, objectives, latent sources, sessions."""
