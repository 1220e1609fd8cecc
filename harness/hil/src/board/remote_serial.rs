//! A board's serial port on another machine ([`TcpLink`], a
//! [`BoardLink`]): exported by ser2net (or a labgrid exporter, which runs
//! ser2net) over TCP, either raw (`kind = "tcp"`: bytes only, no line
//! control) or with RFC 2217 (`kind = "rfc2217"`: Telnet COM-PORT-OPTION,
//! [`super::rfc2217`]; the baud rate and DTR/RTS reset sequences work as
//! on a local port).
//!
//! A dropped connection to the exporter is the harness's problem, not the
//! board's: [`BoardLink::reopen`] connects again with backoff (100 ms,
//! doubling, at most 2 s apart) until the profile's `timeout`; the board
//! pump records the gap in `board.json` and, if the link never comes back,
//! fails the run as an infrastructure failure.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::link::BoardLink;
use super::profile::LineStep;
use super::rfc2217::{self, Decoder, Negotiation};

/// How the exporter speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// ser2net `tcp` accepter: the serial bytes, nothing else.
    Raw,
    /// ser2net `telnet(rfc2217)`: Telnet with COM-PORT-OPTION.
    Rfc2217,
}

/// A TCP connection to a serial-port exporter.
pub struct TcpLink {
    /// `HOST:PORT`.
    addr: String,
    mode: Mode,
    baud: u32,
    stream: Option<TcpStream>,
    decoder: Decoder,
    negotiation: Negotiation,
    /// Data decoded but not yet returned.
    pending: Vec<u8>,
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the connection to the exporter is closed",
    )
}

fn connect(addr: &str, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("`{addr}` has no address"));
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl TcpLink {
    /// Connects to `addr` (`HOST:PORT`); in RFC 2217 mode negotiates
    /// COM-PORT-OPTION and sets `baud`, 8N1.
    pub fn open(addr: &str, mode: Mode, baud: u32) -> Result<TcpLink, String> {
        let mut link = TcpLink {
            addr: addr.to_string(),
            mode,
            baud,
            stream: None,
            decoder: Decoder::new(),
            negotiation: Negotiation::default(),
            pending: Vec::new(),
        };
        link.connect_once()
            .map_err(|e| format!("cannot connect to {}: {e}", link.describe()))?;
        Ok(link)
    }

    fn connect_once(&mut self) -> io::Result<()> {
        self.stream = None;
        self.decoder = Decoder::new();
        self.negotiation = Negotiation::default();
        self.pending.clear();
        let mut s = connect(&self.addr, Duration::from_secs(2))?;
        if self.mode == Mode::Rfc2217 {
            let mut hello = rfc2217::hello();
            hello.extend(rfc2217::port_settings(self.baud));
            s.write_all(&hello)?;
        }
        self.stream = Some(s);
        if self.mode == Mode::Rfc2217 {
            // The server's answers (its WILL/DO, the baud rate it set)
            // come first; data that comes with them is kept.
            let deadline = Instant::now() + Duration::from_secs(1);
            let mut buf = [0u8; 512];
            while self.negotiation.baud.is_none() && Instant::now() < deadline {
                let n = self.read_raw(&mut buf, Duration::from_millis(50))?;
                let data = buf[..n].to_vec();
                self.pending.extend(data);
            }
        }
        Ok(())
    }

    /// The baud rate the RFC 2217 server said it set (None: raw, or it
    /// did not answer).
    pub fn server_baud(&self) -> Option<u32> {
        self.negotiation.baud
    }

    /// The last SET-CONTROL answer of the RFC 2217 server.
    pub fn server_control(&self) -> Option<u8> {
        self.negotiation.control
    }

    /// Reads from the socket and decodes Telnet (answering negotiation):
    /// the data bytes go to `buf`.
    fn read_raw(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let s = self.stream.as_mut().ok_or_else(gone)?;
        s.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        let mut wire = vec![0u8; buf.len()];
        let n = match s.read(&mut wire) {
            Ok(0) => {
                self.stream = None;
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the exporter closed the connection",
                ));
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                return Ok(0)
            }
            Err(e) => {
                self.stream = None;
                return Err(e);
            }
        };
        if self.mode == Mode::Raw {
            buf[..n].copy_from_slice(&wire[..n]);
            return Ok(n);
        }
        let mut data = Vec::new();
        let cmds = self.decoder.push(&wire[..n], &mut data);
        let mut reply = Vec::new();
        for c in &cmds {
            reply.extend(self.negotiation.answer(c));
        }
        if !reply.is_empty() {
            s.write_all(&reply)?;
        }
        // Telnet escaping only ever shrinks: the data fits.
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let s = self.stream.as_mut().ok_or_else(gone)?;
        let r = s.write_all(bytes).and_then(|()| s.flush());
        if r.is_err() {
            self.stream = None;
        }
        r
    }
}

impl BoardLink for TcpLink {
    fn describe(&self) -> String {
        match self.mode {
            Mode::Raw => format!("tcp://{}", self.addr),
            Mode::Rfc2217 => format!("rfc2217://{}", self.addr),
        }
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        if !self.pending.is_empty() {
            let n = self.pending.len().min(buf.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            return Ok(n);
        }
        self.read_raw(buf, timeout)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.mode {
            Mode::Raw => self.send(bytes),
            Mode::Rfc2217 => self.send(&rfc2217::escape(bytes)),
        }
    }

    fn line_reset(&mut self, steps: &[LineStep]) -> io::Result<()> {
        if self.mode == Mode::Raw {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{} is a raw TCP port (ser2net `tcp` accepter): it has no DTR/RTS lines; export it with telnet(rfc2217)",
                    self.describe()
                ),
            ));
        }
        for s in steps {
            match *s {
                LineStep::Dtr(l) => self.send(&rfc2217::set_line(true, l))?,
                LineStep::Rts(l) => self.send(&rfc2217::set_line(false, l))?,
                LineStep::Wait(d) => std::thread::sleep(d.to_std()),
            }
        }
        Ok(())
    }

    fn reopen(&mut self, timeout: Duration) -> Result<(), String> {
        self.stream = None;
        let deadline = Instant::now() + timeout;
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.connect_once() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    return Err(format!(
                        "the connection to the serial-port exporter did not come back within {:.1} s ({e}): an infrastructure problem (is ser2net / the labgrid exporter running?)",
                        timeout.as_secs_f64()
                    ))
                }
                Err(_) => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            std::thread::sleep(backoff.min(left).max(Duration::from_millis(10)));
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Dur;
    use std::net::TcpListener;

    /// A small RFC 2217 server on loopback: it answers SET-BAUDRATE and
    /// SET-CONTROL and records the SET-CONTROL values it got; data is
    /// echoed.
    /// What the server got: the SET-CONTROL values, and the data.
    type Got = (Vec<u8>, Vec<u8>);

    fn server() -> (String, std::thread::JoinHandle<Got>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(&[rfc2217::IAC, rfc2217::DO, rfc2217::COM_PORT_OPTION])
                .unwrap();
            let mut d = Decoder::new();
            let (mut controls, mut data): (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
            let mut buf = [0u8; 256];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut got = Vec::new();
                for c in d.push(&buf[..n], &mut got) {
                    if let rfc2217::Telnet::Sub(44, p) = c {
                        let mut answer = p.clone();
                        answer[0] += rfc2217::SERVER_OFFSET;
                        if p[0] == rfc2217::SET_CONTROL {
                            controls.push(p[1]);
                        }
                        s.write_all(&rfc2217::com_port(answer[0], &answer[1..]))
                            .unwrap();
                    }
                }
                data.extend(&got);
                s.write_all(&rfc2217::escape(&got)).unwrap();
            }
            (controls, data)
        });
        (addr, t)
    }

    #[test]
    fn rfc2217_sets_the_baud_rate_plays_dtr_rts_and_escapes_0xff() {
        let (addr, t) = server();
        let mut link = TcpLink::open(&addr, Mode::Rfc2217, 9600).unwrap();
        assert_eq!(link.server_baud(), Some(9600));
        link.line_reset(&[
            LineStep::Dtr(false),
            LineStep::Rts(true),
            LineStep::Wait(Dur::from_millis(10)),
            LineStep::Rts(false),
            LineStep::Dtr(true),
        ])
        .unwrap();
        link.write_all(&[1, 0xff, 2, b'\n']).unwrap();
        let mut got: Vec<u8> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while got.len() < 4 && Instant::now() < deadline {
            let mut buf = [0u8; 64];
            let n = link.read(&mut buf, Duration::from_millis(50)).unwrap();
            got.extend(&buf[..n]);
        }
        assert_eq!(got, vec![1, 0xff, 2, b'\n']);
        assert_eq!(link.server_control(), Some(rfc2217::CONTROL_DTR_ON));
        drop(link);
        let (controls, data) = t.join().unwrap();
        assert_eq!(controls, vec![9, 11, 12, 8]);
        assert_eq!(data, vec![1, 0xff, 2, b'\n']);
    }

    #[test]
    fn raw_mode_refuses_dtr_rts_and_a_dead_exporter_is_a_timed_error() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let mut link = TcpLink::open(&addr, Mode::Raw, 115_200).unwrap();
        let e = link.line_reset(&[LineStep::Dtr(false)]).unwrap_err();
        assert!(e.to_string().contains("no DTR/RTS lines"), "{e}");
        drop(l);
        let started = Instant::now();
        let e = link.reopen(Duration::from_millis(600)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(600));
        assert!(e.contains("did not come back within 0.6 s"), "{e}");
    }
}
