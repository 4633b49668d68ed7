"""Use-cases: each job wires the domain to the ports (see ports.py) for one run; runtime.py picks the implementations."""
