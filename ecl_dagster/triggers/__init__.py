"""Runs started without a person at a shell: sensors, and the inbox folders they read.

``inbox`` lists, reads and moves aside request files; ``sensors`` starts runs from the topic
inbox and reacts to failed runs (alerting, usage tags).
"""
