"""Use-cases: each job wires the domain to the adapters for one run."""
