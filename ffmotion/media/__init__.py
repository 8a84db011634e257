"""What the input is: probe facts, stream choice, frame counting, picture facts."""
