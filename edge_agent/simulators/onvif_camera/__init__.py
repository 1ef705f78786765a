"""A simulated ONVIF camera: device, media, recording and search services over real SOAP/HTTP,
WS-Security UsernameToken digest checks, a skewable clock, a vendor SD-card API and an RTSP
DESCRIBE responder. Scripted states (`states.py`) turn it into a sick camera on demand.

Run one or many from the command line: ``python -m edge_agent.simulators.onvif_camera --help``.
"""
