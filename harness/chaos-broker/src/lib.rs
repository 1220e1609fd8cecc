//! The chaos broker: an MQTT 3.1.1 broker, as mosquitto behaves, that
//! misbehaves on command (see issue 3).
