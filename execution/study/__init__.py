"""Studies over the simulator: parameter sweeps of the engine's limits."""
