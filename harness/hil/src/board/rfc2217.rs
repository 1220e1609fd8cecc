//! The client side of RFC 2217 (the Telnet COM-PORT-OPTION, as ser2net's
//! `telnet(rfc2217)` accepter and labgrid's `NetworkSerialPort` with
//! `protocol: rfc2217` speak it): a Telnet stream parser ([`Decoder`],
//! outside input: it never panics, whatever the bytes), the replies a
//! client gives to the server's option negotiation, the COM-PORT commands
//! the harness sends (SET-BAUDRATE, SET-DATASIZE / PARITY / STOPSIZE,
//! SET-CONTROL for DTR and RTS) and the escaping of 0xFF (IAC) in data
//! both ways.
//!
//! Written here rather than taken from `rfc2217-rs` (0.1.0, one release in
//! 2022): that crate has a server and a parser but no client, and no
//! documentation; this module is the ~200 lines a client needs.

/// Telnet "interpret as command".
pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
/// Subnegotiation begin / end.
pub const SB: u8 = 250;
pub const SE: u8 = 240;
/// Telnet options the client agrees to.
pub const OPT_BINARY: u8 = 0;
pub const OPT_ECHO: u8 = 1;
pub const OPT_SGA: u8 = 3;
/// RFC 2217's COM-PORT-OPTION.
pub const COM_PORT_OPTION: u8 = 44;

/// COM-PORT-OPTION commands (client to server; the server answers with
/// the same code + 100).
pub const SET_BAUDRATE: u8 = 1;
pub const SET_DATASIZE: u8 = 2;
pub const SET_PARITY: u8 = 3;
pub const SET_STOPSIZE: u8 = 4;
pub const SET_CONTROL: u8 = 5;
/// The server's answer offset.
pub const SERVER_OFFSET: u8 = 100;

/// SET-CONTROL values for the DTR and RTS lines.
pub const CONTROL_DTR_ON: u8 = 8;
pub const CONTROL_DTR_OFF: u8 = 9;
pub const CONTROL_RTS_ON: u8 = 11;
pub const CONTROL_RTS_OFF: u8 = 12;

/// Subnegotiation payloads longer than this are cut (a server never sends
/// more than a few bytes; a hostile one is not allowed to grow memory).
pub const MAX_SUB: usize = 256;

/// A Telnet command found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Telnet {
    Will(u8),
    Wont(u8),
    Do(u8),
    Dont(u8),
    /// `IAC SB option payload IAC SE`, payload unescaped.
    Sub(u8, Vec<u8>),
    /// Any other two-byte command (NOP, break, ...).
    Other(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Data,
    Iac,
    /// After WILL/WONT/DO/DONT: the option byte is next.
    Opt(u8),
    /// After SB: the option byte is next.
    SubOpt,
    Sub,
    SubIac,
}

/// The Telnet stream parser: data bytes apart from commands, across reads.
#[derive(Debug, Default)]
pub struct Decoder {
    state: State,
    sub_opt: u8,
    sub: Vec<u8>,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Parses `input`: its data bytes are appended to `data`, its commands
    /// returned in order.
    pub fn push(&mut self, input: &[u8], data: &mut Vec<u8>) -> Vec<Telnet> {
        let mut out = Vec::new();
        for &b in input {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, b) => {
                    data.push(b);
                    State::Data
                }
                (State::Iac, IAC) => {
                    data.push(IAC);
                    State::Data
                }
                (State::Iac, c @ (WILL | WONT | DO | DONT)) => State::Opt(c),
                (State::Iac, SB) => State::SubOpt,
                (State::Iac, c) => {
                    out.push(Telnet::Other(c));
                    State::Data
                }
                (State::Opt(c), opt) => {
                    out.push(match c {
                        WILL => Telnet::Will(opt),
                        WONT => Telnet::Wont(opt),
                        DO => Telnet::Do(opt),
                        _ => Telnet::Dont(opt),
                    });
                    State::Data
                }
                (State::SubOpt, opt) => {
                    self.sub_opt = opt;
                    self.sub.clear();
                    State::Sub
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, b) => {
                    if self.sub.len() < MAX_SUB {
                        self.sub.push(b);
                    }
                    State::Sub
                }
                (State::SubIac, IAC) => {
                    if self.sub.len() < MAX_SUB {
                        self.sub.push(IAC);
                    }
                    State::Sub
                }
                (State::SubIac, SE) => {
                    out.push(Telnet::Sub(self.sub_opt, std::mem::take(&mut self.sub)));
                    State::Data
                }
                // IAC + anything else inside a subnegotiation: a broken
                // server; end the subnegotiation there.
                (State::SubIac, _) => {
                    out.push(Telnet::Sub(self.sub_opt, std::mem::take(&mut self.sub)));
                    State::Data
                }
            };
        }
        out
    }
}

/// `data` with every 0xFF doubled (Telnet data escaping).
pub fn escape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 4);
    for &b in data {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
    out
}

/// A COM-PORT-OPTION subnegotiation: `IAC SB 44 command payload IAC SE`.
pub fn com_port(command: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![IAC, SB, COM_PORT_OPTION, command];
    out.extend(escape(payload));
    out.extend([IAC, SE]);
    out
}

/// What a client sends first: it will speak COM-PORT-OPTION and binary,
/// and asks the server to do binary and suppress go-ahead.
pub fn hello() -> Vec<u8> {
    vec![
        IAC,
        WILL,
        COM_PORT_OPTION,
        IAC,
        WILL,
        OPT_BINARY,
        IAC,
        DO,
        OPT_BINARY,
        IAC,
        WILL,
        OPT_SGA,
        IAC,
        DO,
        OPT_SGA,
    ]
}

/// SET-BAUDRATE, SET-DATASIZE 8, SET-PARITY none, SET-STOPSIZE 1.
pub fn port_settings(baud: u32) -> Vec<u8> {
    let mut out = com_port(SET_BAUDRATE, &baud.to_be_bytes());
    out.extend(com_port(SET_DATASIZE, &[8]));
    out.extend(com_port(SET_PARITY, &[1]));
    out.extend(com_port(SET_STOPSIZE, &[1]));
    out
}

/// SET-CONTROL for one line level.
pub fn set_line(dtr: bool, level: bool) -> Vec<u8> {
    let v = match (dtr, level) {
        (true, true) => CONTROL_DTR_ON,
        (true, false) => CONTROL_DTR_OFF,
        (false, true) => CONTROL_RTS_ON,
        (false, false) => CONTROL_RTS_OFF,
    };
    com_port(SET_CONTROL, &[v])
}

/// The client's negotiation state: which options it already answered, so
/// that a server repeating itself gets no reply loop.
#[derive(Debug, Default)]
pub struct Negotiation {
    answered: std::collections::BTreeMap<(u8, u8), ()>,
    /// The server accepted COM-PORT-OPTION (`DO 44` / `WILL 44`).
    pub com_port: bool,
    /// The baud rate the server says it set (its SET-BAUDRATE answer).
    pub baud: Option<u32>,
    /// The last SET-CONTROL answer.
    pub control: Option<u8>,
}

impl Negotiation {
    /// The reply to `cmd` (possibly empty), updating what the server said.
    pub fn answer(&mut self, cmd: &Telnet) -> Vec<u8> {
        let agree = |o: u8| matches!(o, OPT_BINARY | OPT_SGA | COM_PORT_OPTION);
        let (verb, opt) = match *cmd {
            Telnet::Do(o) => {
                if o == COM_PORT_OPTION {
                    self.com_port = true;
                }
                (if agree(o) { WILL } else { WONT }, o)
            }
            Telnet::Will(o) => {
                if o == COM_PORT_OPTION {
                    self.com_port = true;
                }
                (if agree(o) || o == OPT_ECHO { DO } else { DONT }, o)
            }
            Telnet::Dont(o) => (WONT, o),
            Telnet::Wont(o) => (DONT, o),
            Telnet::Sub(COM_PORT_OPTION, ref p) => {
                match p.as_slice() {
                    [c, a, b, cc, d] if *c == SET_BAUDRATE + SERVER_OFFSET => {
                        self.baud = Some(u32::from_be_bytes([*a, *b, *cc, *d]));
                    }
                    [c, v] if *c == SET_CONTROL + SERVER_OFFSET => self.control = Some(*v),
                    _ => {}
                }
                return Vec::new();
            }
            Telnet::Sub(..) | Telnet::Other(_) => return Vec::new(),
        };
        // Our own hello already said WILL/DO for what we agree to: a
        // server's confirmation needs no answer, and each refusal or
        // acceptance is said once.
        let ours = matches!(
            (verb, opt),
            (WILL | DO, OPT_BINARY | OPT_SGA | COM_PORT_OPTION)
        );
        if ours || self.answered.insert((verb, opt), ()).is_some() {
            return Vec::new();
        }
        vec![IAC, verb, opt]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn data_and_commands_are_told_apart_across_reads() {
        let mut d = Decoder::new();
        let mut data = Vec::new();
        let c1 = d.push(&[b'a', IAC, IAC, b'b', IAC], &mut data);
        let c2 = d.push(&[DO, COM_PORT_OPTION, b'c', IAC, SB, 44], &mut data);
        let c3 = d.push(&[101, 0, 0, 0x25, 0x80, IAC, SE, b'd'], &mut data);
        assert_eq!(data, vec![b'a', IAC, b'b', b'c', b'd']);
        assert!(c1.is_empty());
        assert_eq!(c2, vec![Telnet::Do(COM_PORT_OPTION)]);
        assert_eq!(
            c3,
            vec![Telnet::Sub(COM_PORT_OPTION, vec![101, 0, 0, 0x25, 0x80])]
        );
    }

    #[test]
    fn commands_are_encoded_as_rfc_2217_says() {
        assert_eq!(
            com_port(SET_BAUDRATE, &115_200u32.to_be_bytes()),
            vec![IAC, SB, 44, 1, 0, 1, 0xc2, 0x00, IAC, SE]
        );
        assert_eq!(set_line(true, false), vec![IAC, SB, 44, 5, 9, IAC, SE]);
        assert_eq!(set_line(false, true), vec![IAC, SB, 44, 5, 11, IAC, SE]);
        // A payload byte 0xFF is doubled.
        assert_eq!(
            com_port(SET_BAUDRATE, &[0, 0, 0, 0xff]),
            vec![IAC, SB, 44, 1, 0, 0, 0, 0xff, 0xff, IAC, SE]
        );
        assert_eq!(escape(&[1, IAC, 2]), vec![1, IAC, IAC, 2]);
    }

    #[test]
    fn the_client_answers_each_negotiation_once() {
        let mut n = Negotiation::default();
        assert!(n.answer(&Telnet::Do(COM_PORT_OPTION)).is_empty());
        assert!(n.com_port);
        assert_eq!(n.answer(&Telnet::Do(24)), vec![IAC, WONT, 24]);
        assert!(n.answer(&Telnet::Do(24)).is_empty());
        assert_eq!(n.answer(&Telnet::Will(OPT_ECHO)), vec![IAC, DO, OPT_ECHO]);
        assert_eq!(n.answer(&Telnet::Will(5)), vec![IAC, DONT, 5]);
        n.answer(&Telnet::Sub(COM_PORT_OPTION, vec![101, 0, 0, 0x25, 0x80]));
        assert_eq!(n.baud, Some(9600));
        n.answer(&Telnet::Sub(COM_PORT_OPTION, vec![105, 8]));
        assert_eq!(n.control, Some(8));
    }

    proptest! {
        /// Whatever a server sends, the parser does not panic, keeps its
        /// memory bounded, and escaped data comes back unchanged.
        #[test]
        fn any_stream_parses_and_escaped_data_round_trips(
            noise in proptest::collection::vec(any::<u8>(), 0..600),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            cut in 0usize..300,
        ) {
            let mut d = Decoder::new();
            let mut out = Vec::new();
            for c in d.push(&noise, &mut out) {
                if let Telnet::Sub(_, p) = c {
                    prop_assert!(p.len() <= MAX_SUB);
                }
            }
            let mut n = Negotiation::default();
            let mut d = Decoder::new();
            let wire = escape(&data);
            let cut = cut.min(wire.len());
            let mut got = Vec::new();
            for part in [&wire[..cut], &wire[cut..]] {
                for c in d.push(part, &mut got) {
                    n.answer(&c);
                }
            }
            prop_assert_eq!(got, data);
        }
    }
}
