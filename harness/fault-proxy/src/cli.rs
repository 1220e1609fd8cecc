//! `hil proxy` (and any binary that embeds it): command-line flags and the
//! foreground run loop.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::proxy::{Proxy, ProxyConfig};
use crate::rule::RuleSpec;

/// The proxy's command line.
#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// Where devices connect.
    #[arg(long, default_value = "127.0.0.1:1884")]
    pub listen: SocketAddr,
    /// The broker, `host:port`.
    #[arg(long)]
    pub upstream: String,
    /// Control port address (line commands: `add drop puback 1`, `rules`, `log`...).
    #[arg(long)]
    pub control: Option<SocketAddr>,
    /// Seed for every random choice (jitter).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A fault from the start, `[up|down|both] KIND ARGS... [after D] [for D]`
    /// (repeat for more), e.g. `--fault "drop puback 1 after 10s"`.
    #[arg(long = "fault", value_parser = parse_rule)]
    pub faults: Vec<RuleSpec>,
    /// Append the timestamped log to this file (it is also printed).
    #[arg(long)]
    pub log: Option<PathBuf>,
}

fn parse_rule(s: &str) -> Result<RuleSpec, String> {
    RuleSpec::parse(s)
}

/// Runs the proxy in the foreground until Ctrl-C, printing its log.
pub fn run(args: ProxyArgs, out: &mut dyn std::io::Write) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    rt.block_on(async move {
        let proxy = Proxy::start(ProxyConfig {
            listen: args.listen,
            upstream: args.upstream.clone(),
            seed: args.seed,
            rules: args.faults.clone(),
            log_file: args.log.clone(),
        })
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let control = match args.control {
            Some(a) => Some(
                tokio::net::TcpListener::bind(a)
                    .await
                    .map_err(|e| format!("cannot listen on the control port {a}: {e}"))?,
            ),
            None => None,
        };
        if let Some(c) = &control {
            proxy.note(&format!(
                "control port on {}",
                c.local_addr().map_err(|e| e.to_string())?
            ));
        }
        let mut printed = 0u64;
        let serve_control = async {
            match control {
                Some(l) => crate::control::serve(&proxy, l).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(serve_control);
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                _ = &mut serve_control => {}
                _ = &mut ctrl_c => {
                    let _ = writeln!(out, "stopping (Ctrl-C)");
                    return Ok(());
                }
                _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
            }
            let (lines, total) = proxy.log_lines_since(printed);
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
            let _ = out.flush();
            printed = total;
        }
    })
}
