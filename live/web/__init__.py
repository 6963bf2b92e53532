"""HTTP and WebSocket endpoints, authentication and pages."""
