"""The one low-rank forward and hook attacher: trainable adaptors for training, fixed branches for scheduled application."""
