"""What ships beside the code: docs, examples, benchmarks, packaging, typing."""
