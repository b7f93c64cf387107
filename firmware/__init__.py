"""Ethos presence detector firmware (MicroPython, in ``esp32_presence/``) and its host tools.

``esp32_presence/`` holds the files copied flat onto the ESP32; ``simulator/`` runs the same
modules on CPython against a real MQTT broker; ``cli.py`` adds ``ethos device`` and
``ethos firmware``.
"""
