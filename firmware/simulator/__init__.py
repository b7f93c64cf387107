"""Host simulator: the ESP32 firmware modules on CPython with a simulated LD2410 and PIR."""
