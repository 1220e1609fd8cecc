//! TLS between the DUT and the broker (`[tls]`, issue 11, T1). With the
//! table present the DUT connects with TLS (rustls, certificates verified
//! against the run's test CA) and the broker terminates it; without it
//! everything is plain TCP as before. The observer stays on plain TCP: it
//! is the instrument, not the device.
//!
//! ```toml
//! [tls]
//! broker_cert = "valid"   # valid | expired | other_ca | wrong_name
//! ```
//!
//! `broker_cert` is what the broker presents at the start; the `tls_cert`
//! fault changes it during the run (a certificate rotation gone wrong) and
//! `tls_stall` makes handshakes stall after the ServerHello.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which certificate the broker presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerCert {
    /// Issued by the test CA the DUT trusts, for the broker's name, valid now.
    #[default]
    Valid,
    /// As `valid`, but its validity period ended before the run's epoch.
    Expired,
    /// Valid, for the right name, but issued by a CA the DUT does not trust.
    OtherCa,
    /// Issued by the trusted CA and valid, but for another host name.
    WrongName,
}

impl fmt::Display for BrokerCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BrokerCert::Valid => "valid",
            BrokerCert::Expired => "expired",
            BrokerCert::OtherCa => "other_ca",
            BrokerCert::WrongName => "wrong_name",
        })
    }
}

/// `[tls]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tls {
    /// The certificate the broker presents when the run starts.
    pub broker_cert: BrokerCert,
}
