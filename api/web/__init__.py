"""The duty-room dashboard, the guard's and the technician's mobile pages: static files
(plain HTML, CSS and ES modules, nothing to build) and the router that serves them."""
