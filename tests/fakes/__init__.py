"""In-memory fakes of the ports, and the in-process X sandbox transport."""
