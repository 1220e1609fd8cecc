//! `wifi_associating`: the WiFi drops and re-associates, but IP is not
//! usable yet (DHCP or the AP's uplink is slow): the driver sees its link
//! go down, and `down` later come back up, and for `for` after that every
//! connect fails (`connects = "fail"`: refused at once) or hangs
//! (`"hang"`: no answer; what was sent is delivered once IP works). The
//! fault ends (`fault_end`) when IP works.

use super::{positive, quoted, toml_lines, words, Action, Cut, Expansion, FaultSpec, Fields};
use crate::diag::Diagnostic;
use crate::duration::Dur;

/// How long the link is down before it re-associates, by default.
const DOWN: Dur = Dur::from_millis(1_000);

#[derive(Debug, Clone, PartialEq)]
pub struct WifiAssociating {
    /// Link down before it reports up again (default 1 s).
    pub down: Dur,
    /// Link up without usable IP.
    pub r#for: Dur,
    /// Connects hang (true) or fail at once (false, the default).
    pub hang: bool,
}

impl FaultSpec for WifiAssociating {
    const KIND: &'static str = "wifi_associating";
    const FIELDS: &'static [&'static str] = &["for", "down", "connects"];
    const SUMMARY: &'static str =
        "the DUT's WiFi drops for `down` (default 1s), then reports up while IP does not work for `for`: connects fail (`connects = \"fail\"`) or hang (`\"hang\"`)";

    const CUT: Cut = Cut::UntilEnd { or_kind: None };

    fn parse(f: &mut Fields) -> Result<Self, Diagnostic> {
        let r#for: Dur = f.req("for")?;
        let r#for = positive(f, "for", Some(r#for))?.unwrap_or(r#for);
        let down = f.opt("down")?;
        let down = positive(f, "down", down)?.unwrap_or(DOWN);
        let hang = match f.opt::<String>("connects")?.as_deref() {
            None | Some("fail") => false,
            Some("hang") => true,
            Some(other) => {
                return Err(f.invalid(
                    "connects",
                    format!("expected \"fail\" or \"hang\", not \"{other}\""),
                ))
            }
        };
        Ok(WifiAssociating { down, r#for, hang })
    }

    fn detail(&self) -> String {
        words(&[
            ("down", Some(self.down.to_string())),
            ("for", Some(self.r#for.to_string())),
            ("connects", Some(self.connects().to_string())),
        ])
    }

    fn toml(&self) -> String {
        toml_lines(&[
            ("for", Some(quoted(self.r#for))),
            ("down", (self.down != DOWN).then(|| quoted(self.down))),
            ("connects", self.hang.then(|| quoted("hang"))),
        ])
    }

    fn expand(&self, x: &mut Expansion) {
        x.act(Dur::ZERO, Action::WifiDown);
        x.act(self.down, Action::WifiUpNoIp { hang: self.hang });
        let end = Dur::from_millis(self.down.as_millis() + self.r#for.as_millis());
        x.act(end, Action::IpUp);
        x.ends_at(end);
    }
}

impl WifiAssociating {
    fn connects(&self) -> &'static str {
        if self.hang {
            "hang"
        } else {
            "fail"
        }
    }
}
