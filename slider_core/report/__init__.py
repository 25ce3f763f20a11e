"""The Slider Report: a slider measured on the user's own model, with the base model as its own judge."""
