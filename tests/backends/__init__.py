"""The compute backends: kernels, the generator, threads, the certified arithmetic."""
