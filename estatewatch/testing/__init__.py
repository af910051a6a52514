"""Real services for tests and benchmarks: Mosquitto and InfluxDB processes on free loopback
ports in temporary directories. Not used in production code."""
