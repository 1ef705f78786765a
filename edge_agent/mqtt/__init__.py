"""MQTT: the public topic and payload contract (topics.py, payloads.py) and the link to the broker."""
