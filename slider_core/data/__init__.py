"""Training data: images fitted to the training frame, checks on pair latents, the reference's image-pair folders."""
