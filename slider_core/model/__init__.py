"""What a slider is: the Slider value, the model families it is made for, its key dialects, which modules it adapts."""
