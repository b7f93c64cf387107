"""Remote access (issue #19): the owner's home from anywhere, through the cloud MQTT broker."""
