"""EstateWatch shared contracts: MQTT topics, payload models, site configuration, register
codec and clock. Every component imports these; none imports another component's internals."""

__version__ = "0.1.0"
