"""The blob world: one soft disc on black whose size, colour, horizontal position and brightness are measurable."""
