"""Local stand-ins for the external services, speaking their real wire format: for tests, benchmarks and the offline demo."""
