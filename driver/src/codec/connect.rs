//! CONNECT: protocol "MQTT" level 4, flags, keepalive, client id, will,
//! user name and password.

use super::frame::Codec;
use super::primitives::{field_len, valid_topic_name};
use super::{DecodeError, EncodeError, QoS, Reader, Writer};

/// The last-will message the broker publishes if the client vanishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Will<'a> {
    pub topic: &'a str,
    pub message: &'a [u8],
    pub qos: QoS,
    pub retain: bool,
}

/// CONNECT packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connect<'a> {
    pub client_id: &'a str,
    /// Seconds; 0 turns keepalive off.
    pub keep_alive: u16,
    pub clean_session: bool,
    pub will: Option<Will<'a>>,
    pub username: Option<&'a str>,
    pub password: Option<&'a [u8]>,
}

const PROTOCOL_LEVEL: u8 = 4;

impl<'a> Codec<'a> for Connect<'a> {
    type DecodeError = DecodeError;
    type EncodeError = EncodeError;

    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let Header { flags, keep_alive } = Header::read(r, PROTOCOL_LEVEL, true)?;
        let client_id = r.string()?;
        let will = match flags.will() {
            Some((qos, retain)) => {
                let topic = r.string()?;
                if !valid_topic_name(topic) {
                    return Err(DecodeError::InvalidTopicName);
                }
                let message = r.binary()?;
                Some(Will {
                    topic,
                    message,
                    qos,
                    retain,
                })
            }
            None => None,
        };
        let username = flags.username().then(|| r.string()).transpose()?;
        let password = flags.password().then(|| r.binary()).transpose()?;
        Ok(Connect {
            client_id,
            keep_alive,
            clean_session: flags.clean(),
            will,
            username,
            password,
        })
    }

    fn encoded_len(&self) -> Result<usize, EncodeError> {
        let mut len = Header::LEN + field_len(self.client_id.len())?;
        if let Some(w) = &self.will {
            len += field_len(w.topic.len())? + field_len(w.message.len())?;
        }
        if let Some(u) = self.username {
            len += field_len(u.len())?;
        }
        if let Some(p) = self.password {
            len += field_len(p.len())?;
        }
        Ok(len)
    }

    /// The rules the decoder enforces: a valid will topic, no password
    /// without a user name, no U+0000 in the strings.
    fn validate(&self) -> Result<(), EncodeError> {
        if self.will.is_some_and(|w| !valid_topic_name(w.topic)) {
            return Err(EncodeError::InvalidTopicName);
        }
        if self.password.is_some() && self.username.is_none() {
            return Err(EncodeError::PasswordWithoutUsername);
        }
        let has_nul = |s: &str| s.contains('\0');
        if has_nul(self.client_id) || self.username.is_some_and(has_nul) {
            return Err(EncodeError::InvalidString);
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let flags = ConnectFlags::new(
            self.clean_session,
            self.will.map(|w| (w.qos, w.retain)),
            self.username.is_some(),
            self.password.is_some(),
        );
        Header::write(w, PROTOCOL_LEVEL, flags, self.keep_alive)?;
        w.string(self.client_id)?;
        if let Some(will) = &self.will {
            w.string(will.topic)?;
            w.binary(will.message)?;
        }
        if let Some(u) = self.username {
            w.string(u)?;
        }
        if let Some(p) = self.password {
            w.binary(p)?;
        }
        Ok(())
    }
}

/// The connect flags byte, the same in both versions (MQTT 3.1.1 §3.1.2.3,
/// MQTT 5.0 §3.1.2.3; only 3.1.1 refuses a password without a user name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectFlags(u8);

impl ConnectFlags {
    const CLEAN: u8 = 0x02;
    const WILL: u8 = 0x04;
    const WILL_RETAIN: u8 = 0x20;
    const PASSWORD: u8 = 0x40;
    const USERNAME: u8 = 0x80;

    pub(crate) fn new(
        clean: bool,
        will: Option<(QoS, bool)>,
        username: bool,
        password: bool,
    ) -> Self {
        let bit = |on: bool, mask: u8| if on { mask } else { 0 };
        let mut b = bit(clean, Self::CLEAN);
        if let Some((qos, retain)) = will {
            b |= Self::WILL | ((qos as u8) << 3) | bit(retain, Self::WILL_RETAIN);
        }
        b |= bit(password, Self::PASSWORD) | bit(username, Self::USERNAME);
        ConnectFlags(b)
    }

    /// Checks a received byte: reserved bit clear, no will QoS or retain
    /// without a will, and (`password_needs_username`, 3.1.1) no password
    /// without a user name; then a will QoS other than 3.
    fn read(b: u8, password_needs_username: bool) -> Result<Self, DecodeError> {
        let f = ConnectFlags(b);
        let will_qos = (b >> 3) & 0x03;
        let will_retain = b & Self::WILL_RETAIN != 0;
        if b & 0x01 != 0
            || (b & Self::WILL == 0 && (will_qos != 0 || will_retain))
            || (password_needs_username && f.password() && !f.username())
        {
            return Err(DecodeError::InvalidConnectFlags(b));
        }
        QoS::from_u8(will_qos).ok_or(DecodeError::InvalidQoS(will_qos))?;
        Ok(f)
    }

    pub(crate) fn clean(self) -> bool {
        self.0 & Self::CLEAN != 0
    }

    /// The will's QoS and retain flag, if there is a will.
    pub(crate) fn will(self) -> Option<(QoS, bool)> {
        if self.0 & Self::WILL == 0 {
            return None;
        }
        let qos = QoS::from_u8((self.0 >> 3) & 0x03)?;
        Some((qos, self.0 & Self::WILL_RETAIN != 0))
    }

    pub(crate) fn username(self) -> bool {
        self.0 & Self::USERNAME != 0
    }

    pub(crate) fn password(self) -> bool {
        self.0 & Self::PASSWORD != 0
    }
}

/// The start of CONNECT's variable header in both versions: protocol name
/// "MQTT", protocol level, connect flags, keep alive.
pub(crate) struct Header {
    pub flags: ConnectFlags,
    pub keep_alive: u16,
}

impl Header {
    const PROTOCOL_NAME: &'static str = "MQTT";
    /// Bytes it takes.
    pub(crate) const LEN: usize = 2 + Self::PROTOCOL_NAME.len() + 1 + 1 + 2;

    /// Reads and checks it: the name, `level`, the flags
    /// ([`ConnectFlags::read`]), in that order.
    pub(crate) fn read(
        r: &mut Reader<'_>,
        level: u8,
        password_needs_username: bool,
    ) -> Result<Self, DecodeError> {
        if r.binary()? != Self::PROTOCOL_NAME.as_bytes() {
            return Err(DecodeError::InvalidProtocolName);
        }
        let got = r.u8()?;
        if got != level {
            return Err(DecodeError::UnsupportedProtocolLevel(got));
        }
        let flags = ConnectFlags::read(r.u8()?, password_needs_username)?;
        let keep_alive = r.u16()?;
        Ok(Header { flags, keep_alive })
    }

    pub(crate) fn write(
        w: &mut Writer<'_>,
        level: u8,
        flags: ConnectFlags,
        keep_alive: u16,
    ) -> Result<(), EncodeError> {
        w.string(Self::PROTOCOL_NAME)?;
        w.u8(level)?;
        w.u8(flags.0)?;
        w.u16(keep_alive)
    }
}
