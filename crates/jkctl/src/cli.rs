//! The command line.

use crate::client::{add_params, added_member, remove_params, AddSpec, Api, HttpApi};
use crate::creds::{Sources, StatusUrl};
use crate::lookup;
use crate::ops::{self, DrainOpts, RestartOpts, RollOpts};
use crate::table;
use crate::Error;
use clap::{Args, Parser, Subcommand};
use jk_config::Activation;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Credentials (HTTP basic auth for the status worker):
  user name: --user or JKCTL_USER, else the URL's user@
  password:  --password-file (its first line), else JKCTL_PASSWORD, else the URL's
             user:password@ (percent-encoded)
  so a password in the URL is overridden by JKCTL_PASSWORD, which is overridden by
  --password-file. jkctl never prints a password: URLs in messages show user:***@.

Exit codes:
  0  success
  1  a step failed (update refused, timeout, command failed, verification failed,
     roll refused)
  2  usage error (bad arguments, unknown or ambiguous member or balancer)
  3  the status URL could not be reached or did not answer as a status worker";

/// Command-line tool for the mod_jk-rs status worker (jkstatus).
///
/// Reads the status worker's JSON (`?cmd=list&mime=json`) and changes members with
/// `?cmd=update&w=<balancer>&sw=<member>&vwa=A|D|S` or `&vwm=R|0` (restart maintenance);
/// adds and removes members at runtime with
/// `?cmd=add&w=<balancer>&host=&port=[&name=][&route=][&template=]` and
/// `?cmd=remove&w=<balancer>&sw=<member>[&force=1]`.
#[derive(Debug, Parser)]
#[command(name = "jkctl", version, after_help = AFTER_HELP, after_long_help = AFTER_HELP)]
pub struct Cli {
    /// Status worker URL, e.g. http://127.0.0.1/jkmanager/ (credentials are better given
    /// with --user and JKCTL_PASSWORD or --password-file than as user:password@)
    #[arg(
        long,
        env = "JKCTL_URL",
        hide_env_values = true,
        global = true,
        value_name = "URL"
    )]
    pub url: Option<StatusUrl>,

    /// User name for basic auth (overrides the URL's user@)
    #[arg(
        long,
        env = "JKCTL_USER",
        hide_env_values = true,
        global = true,
        value_name = "NAME"
    )]
    pub user: Option<String>,

    /// Read the basic-auth password from the first line of this file (overrides
    /// JKCTL_PASSWORD and the URL's password); keep it chmod 600
    #[arg(long, global = true, value_name = "PATH")]
    pub password_file: Option<PathBuf>,

    /// Timeout of each HTTP request to the status worker, seconds
    #[arg(long, global = true, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub timeout_per_request: Duration,

    /// How often to poll the status while waiting, seconds
    #[arg(long, global = true, value_name = "SECS", default_value = "1", value_parser = parse_secs)]
    pub poll_interval: Duration,

    /// ZooKeeper servers HOST:PORT[,...]: activate, disable, stop, drain and maintenance
    /// change the desired state of SERVICE/MEMBER there (every gateway applies it) instead
    /// of one status worker
    #[arg(long, env = "JKCTL_ZK", global = true, value_name = "HOSTS")]
    pub zk: Option<String>,

    /// With --zk: digest credentials USER:PASSWORD (else JKCTL_ZK_AUTH)
    #[arg(
        long = "zk-auth",
        env = "JKCTL_ZK_AUTH",
        hide_env_values = true,
        global = true,
        value_name = "USER:PASSWORD"
    )]
    pub zk_auth: Option<String>,

    /// With --zk: how long to wait for every gateway to apply a change, seconds
    #[arg(long, global = true, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub zk_wait: Duration,
    /// Output of the read commands (status, drain without --wait): a table, or one JSON
    /// document (with status --watch: one per line)
    #[arg(
        long,
        short = 'o',
        global = true,
        value_enum,
        default_value = "table",
        value_name = "FORMAT"
    )]
    pub output: Output,

    /// What to do
    #[command(subcommand)]
    pub command: Cmd,
}

/// What the read commands print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Aligned columns for people
    Table,
    /// JSON for scripts
    Json,
}

/// A member, optionally qualified by its balancer.
#[derive(Debug, Args)]
pub struct Target {
    /// Member (worker) name, e.g. tomcat1
    pub member: String,
    /// Balancer of the member; may be omitted when the member name is unique
    #[arg(long, short = 'b', value_name = "NAME")]
    pub balancer: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Show every balancer member: activation, state, in-flight and held requests, errors, recent
    /// sessions, last sticky request, restart maintenance, origin and lifecycle
    Status {
        /// Only this balancer
        #[arg(long, short = 'b', value_name = "NAME")]
        balancer: Option<String>,
        /// Refresh every SECS seconds (2 without a value) until interrupted (Ctrl-C)
        #[arg(
            long,
            value_name = "SECS",
            num_args = 0..=1,
            default_missing_value = "2",
            value_parser = parse_secs
        )]
        watch: Option<Duration>,
        /// With --watch: stop after N refreshes
        #[arg(long, value_name = "N", requires = "watch")]
        count: Option<u64>,
    },
    /// Activate a member (ACT, vwa=A)
    Activate(Target),
    /// Disable a member (DIS, vwa=D): no new sessions, sticky requests still served
    Disable(Target),
    /// Stop a member (STP, vwa=S): no requests at all
    Stop(Target),
    /// Set (vwm=R) or clear (vwm=0) restart maintenance of a member
    ///
    /// While restarting, a member gets no new requests and its sticky requests are held;
    /// after --clear it returns only once its readiness probes pass. `restart` sets and
    /// clears this itself; use this command to clear it by hand after a failed restart.
    Maintenance {
        #[command(flatten)]
        target: Target,
        /// Clear restart maintenance (vwm=0) instead of setting it
        #[arg(long)]
        clear: bool,
    },
    /// Wait until a member is idle: nothing in flight, no sticky request for --quiet seconds
    ///
    /// Idle means: in_flight (or busy, when in_flight is not reported) is 0 AND the last
    /// sticky request (last_sticky_time) is at least --quiet seconds ago (a status worker
    /// that does not report it cannot hold the drain up). Without --wait, checks once and
    /// exits 0 if idle, 1 if not.
    Drain {
        #[command(flatten)]
        target: Target,
        /// Poll until idle (up to --timeout)
        #[arg(long)]
        wait: bool,
        /// Seconds without a sticky request that count as quiet
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        quiet: u64,
        /// Give up (exit 1) after this many seconds
        #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_secs)]
        timeout: Duration,
        /// Disable the member (vwa=D) first
        #[arg(long)]
        disable: bool,
    },
    /// Restart one member's backend with a shell command, without failing a request
    ///
    /// Steps, one progress line each:
    ///   1. mark restart maintenance (vwm=R): no new requests, sticky requests held;
    ///   2. wait until no request is in flight (in_flight, else busy, is 0; --drain-timeout);
    ///   3. run --cmd with `sh -c` ({member} and {balancer} are replaced, shell-quoted if
    ///      needed; JKCTL_MEMBER and JKCTL_BALANCER are set); its output is printed
    ///      prefixed with [member]. The command should return once the backend has been
    ///      restarted (as `systemctl restart` does);
    ///   4. clear restart maintenance (vwm=0): the module readmits the member only after
    ///      its readiness probes pass;
    ///   5. wait until the member is ready: state OK or OK/IDLE, not restarting, not
    ///      awaiting readiness (--ready-timeout);
    ///   6. activate (vwa=A) if it is not ACT, and verify: ACT, state not ERR, not gated.
    ///
    /// On failure jkctl exits 1 and says which step failed. What it leaves behind:
    ///   - step 1 failed: nothing was changed;
    ///   - step 2 timed out: the backend was not touched, so maintenance is cleared again
    ///     and the member is as before;
    ///   - step 3 (command) failed: the backend may be half down, so the member STAYS in
    ///     restart maintenance (no new requests) until an operator looked: fix it, then
    ///     `jkctl maintenance MEMBER --clear` (it returns through readiness) or run
    ///     `restart` again;
    ///   - step 5 timed out: maintenance is already cleared; the module keeps the member
    ///     out of rotation until its readiness probes pass;
    ///   - step 4 or 6 failed: see the message; the member may need a look.
    #[command(verbatim_doc_comment)]
    Restart {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        restart: RestartArgs,
    },
    /// Add a member to a balancer at runtime; prints the new member's name
    ///
    /// The member takes one of the balancer's free member slots (`jkctl status` shows
    /// ORIGIN runtime) and enters through its readiness probes and slow start (LIFECYCLE
    /// joining, then active). Without --name the module names it; without --route its
    /// route is the module's default; --template names a worker whose AJP settings
    /// (timeouts, pool, ...) it copies. Sent as `cmd=add&w=LB&host=&port=[&name=][&route=]
    /// [&template=]`. Refused (exit 1) when no slot is free, the name is in use, or the
    /// status worker is read-only.
    #[command(verbatim_doc_comment)]
    Add {
        /// The balancer
        #[arg(value_name = "LB")]
        balancer: String,
        /// The backend's AJP address: HOST:PORT, [IPv6]:PORT
        #[arg(value_name = "HOST:PORT", value_parser = parse_host_port)]
        address: HostPort,
        /// The member's name (at most 60 of A-Z a-z 0-9 _ -)
        #[arg(long, value_name = "NAME", value_parser = parse_worker_name)]
        name: Option<String>,
        /// The member's route, jvmRoute (at most 60 of A-Z a-z 0-9 _ -)
        #[arg(long, value_name = "ROUTE", value_parser = parse_worker_name)]
        route: Option<String>,
        /// A worker whose AJP settings the member copies
        #[arg(long, value_name = "WORKER", value_parser = parse_worker_name)]
        template: Option<String>,
    },
    /// Hand a member's route over to a new backend (a rolling update without a restart in place)
    ///
    /// Adds a member at --to as standby for MEMBER (LIFECYCLE standby: readiness probes, no
    /// traffic): MEMBER keeps its route while it serves. Then stop MEMBER's Tomcat: requests of
    /// its sessions are held while it stops (hold_timeout), and once its AJP port is closed
    /// (its sessions saved to the store both Tomcats share) the route moves to the new member,
    /// which serves them from then on. Prints the new member's name. Sent as
    /// `cmd=add&w=LB&host=&port=&handover=MEMBER[&name=]`.
    #[command(verbatim_doc_comment)]
    Handover {
        /// The balancer
        #[arg(value_name = "LB")]
        balancer: String,
        /// The member whose route moves (no wildcards)
        member: String,
        /// The new backend's AJP address: HOST:PORT, [IPv6]:PORT
        #[arg(long, value_name = "HOST:PORT", value_parser = parse_host_port)]
        to: HostPort,
        /// The new member's name (at most 60 of A-Z a-z 0-9 _ -)
        #[arg(long, value_name = "NAME", value_parser = parse_worker_name)]
        name: Option<String>,
    },
    /// Remove a member from a balancer (drained first unless --force)
    ///
    /// The member drains (LIFECYCLE draining: no new sessions, sticky requests still
    /// served) until it is idle or the module's drain timeout passes; then its slot is
    /// freed and it disappears from the status. --force frees the slot at once (requests
    /// of its sessions go to other members). Sent as `cmd=remove&w=LB&sw=MEMBER[&force=1]`.
    #[command(verbatim_doc_comment)]
    Remove {
        /// The balancer
        #[arg(value_name = "LB")]
        balancer: String,
        /// The member (no wildcards)
        member: String,
        /// Free the slot at once instead of draining first
        #[arg(long)]
        force: bool,
    },
    /// Restart every member of a balancer, one at a time, in order
    ///
    /// Each member goes through the steps of `restart`; the roll stops at the first failure
    /// (exit 1), leaving that member as `restart` describes and the later ones untouched.
    /// It refuses to start when fewer than 2 members are usable (ACT and OK, OK/IDLE or
    /// OK/BUSY, not restarting, not awaiting readiness), and refuses each member when no other member is usable at
    /// that moment, so that the roll cannot take the whole site down; --force overrides
    /// both. Stopped (STP) members are skipped unless --include-stopped.
    Roll {
        /// The balancer to roll
        #[arg(long, short = 'b', value_name = "NAME")]
        balancer: String,
        #[command(flatten)]
        restart: RestartArgs,
        /// Seconds to wait between two members
        #[arg(long, value_name = "SECS", default_value = "0", value_parser = parse_secs)]
        pause: Duration,
        /// Roll even when fewer than 2 members are usable
        #[arg(long)]
        force: bool,
        /// Also restart stopped (STP) members (they end up ACT)
        #[arg(long)]
        include_stopped: bool,
    },
    /// Register a Tomcat in ZooKeeper while its AJP port answers CPing (run next to Tomcat)
    ///
    /// Creates the ephemeral znode PATH/NAME holding an Apache Curator service-discovery
    /// record (address, port, id, payload {jvmRoute, weight}) once HOST:PORT answers an AJP
    /// CPing, deletes it when --failures CPings in a row fail, registers again when it
    /// answers again. Gateways whose lb says `discovery=zk://.../PATH` add the member
    /// (readiness, slow start) and drain it when the node goes. On SIGTERM or SIGINT it drains
    /// first: desired state disabled on every gateway (/mod_jk/SERVICE/desired/NAME), until no
    /// gateway has a request of it in flight (at most --drain seconds), then the node is
    /// deleted, the desired record put back, and jkctl exits: stop Tomcat after jkctl. Does
    /// not need --url.
    #[command(verbatim_doc_comment)]
    Announce(crate::announce::AnnounceArgs),
    /// Print a shell completion script: jkctl completions bash > /etc/bash_completion.d/jkctl
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): jkctl man > /usr/local/share/man/man1/jkctl.1
    Man,
}

/// Options shared by `restart` and `roll`.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Shell command that restarts the backend; {member} is replaced by the member name
    #[arg(long, value_name = "SHELL COMMAND")]
    pub cmd: String,
    /// Seconds to wait for the backend to be ready after the command
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_secs)]
    pub ready_timeout: Duration,
    /// Seconds to wait for in-flight requests to finish before the command
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_secs)]
    pub drain_timeout: Duration,
}

/// A backend address (`jkctl add`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port, 1-65535.
    pub port: u16,
}

/// Parses `HOST:PORT` or `[IPv6]:PORT`.
pub fn parse_host_port(s: &str) -> Result<HostPort, String> {
    let bad = || format!("{s:?} is not HOST:PORT (an IPv6 address as [ADDRESS]:PORT)");
    let (host, port) = s.trim().rsplit_once(':').ok_or_else(bad)?;
    let host = match host.strip_prefix('[') {
        Some(h) => h.strip_suffix(']').ok_or_else(bad)?,
        None if host.contains(':') => return Err(bad()),
        None => host,
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{port:?} is not a port (1-65535)"))?;
    Ok(HostPort {
        host: host.to_string(),
        port,
    })
}

/// Checks a member name, route or template: what mod_jk accepts in worker names.
pub fn parse_worker_name(s: &str) -> Result<String, String> {
    if s.len() > jk_config::values::MAX_NAME_BYTES {
        return Err(format!(
            "{s:?} is longer than {} bytes",
            jk_config::values::MAX_NAME_BYTES
        ));
    }
    if !jk_config::values::is_documented_name(s) {
        return Err(format!("{s:?} has characters outside A-Z a-z 0-9 _ -"));
    }
    Ok(s.to_string())
}

/// Sends `cmd=add` and prints the new member's name (from the answer, else the one asked for).
fn add_member(api: &dyn Api, lb: &str, spec: &AddSpec) -> Result<(), Error> {
    let message = api.change(&borrowed(&add_params(lb, spec)))?;
    let added = added_member(&message)
        .map(str::to_string)
        .or_else(|| spec.name.clone())
        .ok_or_else(|| {
            Error::Failed(format!(
                "the status worker answered OK but named no member: {message}"
            ))
        })?;
    println!("{added}");
    Ok(())
}

/// `(key, value)` pairs borrowed from owned ones.
fn borrowed<'a>(p: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    p.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Parses seconds (`10`, `0.5`).
pub fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || !(0.0..=1e9).contains(&v) {
        return Err(format!("{s:?} is not a number of seconds ≥ 0"));
    }
    Ok(Duration::from_secs_f64(v))
}

fn restart_opts(a: &RestartArgs, interval: Duration) -> Result<RestartOpts, Error> {
    if a.cmd.trim().is_empty() {
        return Err(Error::Usage("--cmd is empty".into()));
    }
    Ok(RestartOpts {
        cmd: a.cmd.clone(),
        drain_timeout: a.drain_timeout,
        ready_timeout: a.ready_timeout,
        interval,
    })
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    // Generated from the definitions above; no status worker needed.
    match &cli.command {
        Cmd::Completions { shell } => {
            print!("{}", completions(*shell));
            return Ok(());
        }
        Cmd::Man => {
            print!("{}", man_page()?);
            return Ok(());
        }
        _ => {}
    }
    if let Cmd::Announce(a) = &cli.command {
        return crate::announce::run(&a.to_announce()?);
    }
    if let Some(zk) = &cli.zk {
        return run_zk(&cli, zk);
    }
    let url = cli.url.as_ref().map(|u| u.as_str().trim()).unwrap_or("");
    if url.is_empty() {
        return Err(Error::Usage(
            "no status worker URL: give --url URL or set JKCTL_URL".into(),
        ));
    }
    let sources = Sources::from_env(cli.user.clone(), cli.password_file.clone())?;
    let api = HttpApi::new(url, &sources, cli.timeout_per_request)?;
    run_with(&api, &cli)
}

/// `--zk`: the desired state in ZooKeeper (crate::zk).
fn run_zk(cli: &Cli, zk: &str) -> Result<(), Error> {
    let (target, activation, wait_idle) = match &cli.command {
        Cmd::Activate(t) => (t, "active", false),
        Cmd::Disable(t) => (t, "disabled", false),
        Cmd::Stop(t) => (t, "stopped", false),
        Cmd::Drain { target, wait, .. } => (target, "disabled", *wait),
        Cmd::Maintenance { target, clear } => {
            (target, if *clear { "active" } else { "restarting" }, false)
        }
        Cmd::Roll {
            balancer,
            restart,
            pause,
            force,
            ..
        } => {
            if restart.cmd.trim().is_empty() {
                return Err(Error::Usage("--cmd is empty".into()));
            }
            return crate::zk::roll(&crate::zk::ZkRoll {
                zk: zk.to_string(),
                auth: cli.zk_auth.clone(),
                service: balancer.clone(),
                cmd: restart.cmd.clone(),
                drain_timeout: restart.drain_timeout,
                ready_timeout: restart.ready_timeout,
                pause: *pause,
                force: *force,
                interval: cli
                    .poll_interval
                    .clamp(Duration::from_millis(20), Duration::from_millis(100)),
            });
        }
        Cmd::Restart { target, restart } => {
            if restart.cmd.trim().is_empty() {
                return Err(Error::Usage("--cmd is empty".into()));
            }
            let (service, member) = crate::zk::split_target(&target.member)?;
            return crate::zk::restart(
                &crate::zk::ZkRoll {
                    zk: zk.to_string(),
                    auth: cli.zk_auth.clone(),
                    service,
                    cmd: restart.cmd.clone(),
                    drain_timeout: restart.drain_timeout,
                    ready_timeout: restart.ready_timeout,
                    pause: Duration::ZERO,
                    force: false,
                    interval: cli
                        .poll_interval
                        .clamp(Duration::from_millis(20), Duration::from_millis(100)),
                },
                &member,
            );
        }
        _ => {
            return Err(Error::Usage(
                "with --zk: activate, disable, stop, drain, maintenance or restart \
                 SERVICE/MEMBER, or roll -b SERVICE"
                    .into(),
            ))
        }
    };
    let (service, member) = crate::zk::split_target(&target.member)?;
    crate::zk::change(&crate::zk::ZkChange {
        zk: zk.to_string(),
        auth: cli.zk_auth.clone(),
        service,
        member,
        activation,
        wait_idle,
        timeout: cli.zk_wait,
        interval: cli
            .poll_interval
            .clamp(Duration::from_millis(50), Duration::from_secs(1)),
    })
}

/// The completion script for `shell`, from the command definitions.
pub fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "jkctl", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page (roff), from the command definitions: the command, its options and every
/// subcommand with its own.
pub fn man_page() -> Result<String, Error> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut out = Vec::new();
    let io = |e: std::io::Error| Error::Failed(format!("cannot write the man page: {e}"));
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(io)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name().to_string();
        let sub = sub.clone().bin_name(format!("jkctl {name}"));
        let mut section = Vec::new();
        let man = clap_mangen::Man::new(sub);
        man.render_name_section(&mut section).map_err(io)?;
        man.render_synopsis_section(&mut section).map_err(io)?;
        man.render_description_section(&mut section).map_err(io)?;
        man.render_options_section(&mut section).map_err(io)?;
        // One .SH per subcommand: its sections become .SS under it.
        let text = String::from_utf8_lossy(&section).replace(".SH ", ".SS ");
        out.extend_from_slice(format!(".SH \"JKCTL {}\"\n", name.to_uppercase()).as_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `status`, once or every `watch` (`count` times at most).
fn status(
    api: &dyn Api,
    cli: &Cli,
    balancer: Option<&str>,
    watch: Option<Duration>,
    count: Option<u64>,
) -> Result<(), Error> {
    use std::io::{IsTerminal, Write};
    let show = |clear: bool| -> Result<(), Error> {
        let doc = api.fetch()?;
        if let Some(b) = balancer {
            lookup::find_balancer(&doc, b)?;
        }
        let text = match cli.output {
            Output::Json => format!("{}\n", table::json(&doc, balancer)),
            Output::Table if watch.is_some() => {
                let every = watch.unwrap_or_default().as_secs_f64();
                let head = format!("every {every} s, server time {}\n\n", doc.now_unix());
                format!(
                    "{}{head}{}",
                    if clear { "\x1b[H\x1b[2J" } else { "" },
                    table::render(&doc, balancer)
                )
            }
            Output::Table => table::render(&doc, balancer),
        };
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) ends a watch quietly.
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::Failed(format!("cannot write: {e}")))
    };
    let Some(every) = watch else {
        return show(false);
    };
    let clear = cli.output == Output::Table && std::io::stdout().is_terminal();
    let mut shown = 0u64;
    loop {
        show(clear)?;
        shown += 1;
        if count.is_some_and(|n| shown >= n) {
            return Ok(());
        }
        std::thread::sleep(every.max(Duration::from_millis(100)));
    }
}

/// Resolves `t` to (balancer, member) with one status read.
fn resolve(api: &dyn Api, t: &Target) -> Result<(String, String), Error> {
    let doc = api.fetch()?;
    let (lb, m) = lookup::find_member(&doc, &t.member, t.balancer.as_deref())?;
    Ok((lb.to_string(), m.name.clone()))
}

fn activation(api: &dyn Api, t: &Target, a: Activation) -> Result<(), Error> {
    let (lb, m) = resolve(api, t)?;
    ops::set_activation(api, &lb, &m, a)?;
    println!("{lb}/{m}: {}", a.text());
    Ok(())
}

/// Runs `cli` against any [`Api`].
pub fn run_with(api: &dyn Api, cli: &Cli) -> Result<(), Error> {
    let interval = cli.poll_interval.max(Duration::from_millis(10));
    match &cli.command {
        Cmd::Status {
            balancer,
            watch,
            count,
        } => status(api, cli, balancer.as_deref(), *watch, *count),
        Cmd::Completions { shell } => {
            print!("{}", completions(*shell));
            Ok(())
        }
        Cmd::Man => {
            print!("{}", man_page()?);
            Ok(())
        }
        Cmd::Activate(t) => activation(api, t, Activation::Active),
        Cmd::Disable(t) => activation(api, t, Activation::Disabled),
        Cmd::Stop(t) => activation(api, t, Activation::Stopped),
        Cmd::Maintenance { target, clear } => {
            let (lb, m) = resolve(api, target)?;
            ops::set_maintenance(api, &lb, &m, !clear)?;
            println!(
                "{lb}/{m}: restart maintenance {}",
                if *clear { "cleared" } else { "set" }
            );
            Ok(())
        }
        Cmd::Drain {
            target,
            wait: false,
            quiet,
            disable: false,
            ..
        } if cli.output == Output::Json => {
            // The check alone, for scripts: exit 0 when idle, 1 when not.
            let doc = api.fetch()?;
            let (lb, m) = lookup::find_member(&doc, &target.member, target.balancer.as_deref())?;
            let c = crate::criteria::DrainCheck::of(m, doc.now_unix(), *quiet);
            let v = serde_json::json!({
                "balancer": lb,
                "member": m.name,
                "idle": c.idle(),
                "in_flight": m.in_flight_or_busy(),
                "last_sticky_ago": match m.last_sticky(doc.now_unix()) {
                    crate::doc::Sticky::Ago(s) => Some(s),
                    _ => None,
                },
                "quiet": quiet,
                "detail": c.describe(),
            });
            println!("{v}");
            if c.idle() {
                Ok(())
            } else {
                Err(Error::Failed(format!("{lb}/{}: not idle yet", m.name)))
            }
        }
        Cmd::Drain {
            target,
            wait,
            quiet,
            timeout,
            disable,
        } => {
            let (lb, m) = resolve(api, target)?;
            let o = DrainOpts {
                disable: *disable,
                wait: *wait,
                quiet: *quiet,
                timeout: *timeout,
                interval,
            };
            ops::drain(api, &lb, &m, &o)
        }
        Cmd::Restart { target, restart } => {
            let o = restart_opts(restart, interval)?;
            let (lb, m) = resolve(api, target)?;
            ops::restart(api, &lb, &m, &o)?;
            println!("restart {m}: done");
            Ok(())
        }
        Cmd::Add {
            balancer,
            address,
            name,
            route,
            template,
        } => {
            // One status read: the balancer exists, and the token is known.
            let doc = api.fetch()?;
            lookup::find_balancer(&doc, balancer)?;
            let spec = AddSpec {
                host: address.host.clone(),
                port: address.port,
                name: name.clone(),
                route: route.clone(),
                template: template.clone(),
                handover: None,
            };
            add_member(api, balancer, &spec)
        }
        Cmd::Handover {
            balancer,
            member,
            to,
            name,
        } => {
            let doc = api.fetch()?;
            let (lb, m) = lookup::find_member(&doc, member, Some(balancer))?;
            let (lb, m) = (lb.to_string(), m.name.clone());
            let spec = AddSpec {
                host: to.host.clone(),
                port: to.port,
                name: name.clone(),
                route: None,
                template: None,
                handover: Some(m.clone()),
            };
            add_member(api, &lb, &spec)
        }
        Cmd::Remove {
            balancer,
            member,
            force,
        } => {
            let doc = api.fetch()?;
            let (lb, m) = lookup::find_member(&doc, member, Some(balancer))?;
            let (lb, m) = (lb.to_string(), m.name.clone());
            api.change(&borrowed(&remove_params(&lb, &m, *force)))?;
            if *force {
                println!("{lb}/{m}: removed");
            } else {
                println!("{lb}/{m}: draining, removed when idle");
            }
            Ok(())
        }
        Cmd::Roll {
            balancer,
            restart,
            pause,
            force,
            include_stopped,
        } => {
            let o = RollOpts {
                restart: restart_opts(restart, interval)?,
                pause: *pause,
                force: *force,
                include_stopped: *include_stopped,
            };
            ops::roll(api, balancer, &o)
        }
        Cmd::Announce(a) => crate::announce::run(&a.to_announce()?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn completions_and_the_man_page_come_from_the_definitions() {
        let bash = completions(clap_complete::Shell::Bash);
        let zsh = completions(clap_complete::Shell::Zsh);
        let man = man_page().expect("man");
        assert!(
            man.starts_with(".ie") && man.contains(".TH jkctl 1"),
            "{man}"
        );
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name();
            assert!(bash.contains(name), "bash completion lacks {name}");
            assert!(zsh.contains(name), "zsh completion lacks {name}");
            assert!(
                man.contains(&format!(".SH \"JKCTL {}\"", name.to_uppercase())),
                "man page lacks {name}"
            );
        }
        for opt in ["--url", "--output", "--watch", "--count"] {
            assert!(bash.contains(opt), "{opt}");
            assert!(man.contains(&opt.replace('-', "\\-")), "{opt}");
        }
    }

    #[test]
    fn parses_output_and_watch() {
        let cli = Cli::try_parse_from(["jkctl", "-o", "json", "status", "--watch"]).expect("parse");
        assert_eq!(cli.output, Output::Json);
        match cli.command {
            Cmd::Status { watch, count, .. } => {
                assert_eq!((watch, count), (Some(Duration::from_secs(2)), None));
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["jkctl", "status", "--watch", "0.5", "--count", "3"])
            .expect("parse");
        match cli.command {
            Cmd::Status { watch, count, .. } => {
                assert_eq!((watch, count), (Some(Duration::from_millis(500)), Some(3)));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Cli::try_parse_from(["jkctl", "status"])
                .expect("parse")
                .output,
            Output::Table
        );
        assert!(Cli::try_parse_from(["jkctl", "status", "--count", "3"]).is_err());
        assert!(Cli::try_parse_from(["jkctl", "-o", "yaml", "status"]).is_err());
    }

    #[test]
    fn parses_seconds() {
        assert_eq!(parse_secs("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_secs("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_secs("3s"), Ok(Duration::from_secs(3)));
        assert!(parse_secs("-1").is_err());
        assert!(parse_secs("soon").is_err());
        assert!(parse_secs("inf").is_err());
    }

    #[test]
    fn parses_a_roll() {
        let cli = Cli::try_parse_from([
            "jkctl",
            "--url",
            "http://h/jk/",
            "roll",
            "-b",
            "lb",
            "--cmd",
            "x {member}",
            "--pause",
            "2",
        ])
        .expect("parse");
        match cli.command {
            Cmd::Roll {
                balancer,
                restart,
                pause,
                force,
                ..
            } => {
                assert_eq!(balancer, "lb");
                assert_eq!(restart.cmd, "x {member}");
                assert_eq!(restart.ready_timeout, Duration::from_secs(300));
                assert_eq!(pause, Duration::from_secs(2));
                assert!(!force);
            }
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn parses_host_and_port() {
        let hp = |h: &str, p| {
            Ok(HostPort {
                host: h.into(),
                port: p,
            })
        };
        assert_eq!(parse_host_port("10.0.0.7:8009"), hp("10.0.0.7", 8009));
        assert_eq!(parse_host_port("tc3.example:8019"), hp("tc3.example", 8019));
        assert_eq!(parse_host_port("[::1]:8009"), hp("::1", 8009));
        for bad in [
            "tc3",
            "tc3:",
            ":8009",
            "tc3:0",
            "tc3:65536",
            "tc3:80x",
            "::1:8009",
            "[::1:8009",
            "[]:8009",
        ] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
        assert!(parse_worker_name("app_3-x").is_ok());
        assert!(parse_worker_name("a.b").is_err());
        assert!(parse_worker_name(&"a".repeat(61)).is_err());
        assert!(parse_worker_name(&"a".repeat(60)).is_ok());
    }

    #[test]
    fn parses_handover() {
        let cli = Cli::try_parse_from([
            "jkctl",
            "--url",
            "http://h/jk/",
            "handover",
            "lb",
            "tomcat1",
            "--to",
            "127.0.0.5:8009",
        ])
        .expect("parse");
        match cli.command {
            Cmd::Handover {
                balancer,
                member,
                to,
                name,
            } => {
                assert_eq!((balancer.as_str(), member.as_str()), ("lb", "tomcat1"));
                assert_eq!((to.host.as_str(), to.port), ("127.0.0.5", 8009));
                assert_eq!(name, None);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            Cli::try_parse_from(["jkctl", "--url", "http://h/", "handover", "lb", "m"]).is_err()
        );
    }

    #[test]
    fn parses_add_and_remove() {
        let cli = Cli::try_parse_from([
            "jkctl",
            "--url",
            "http://h/jk/",
            "add",
            "lb",
            "10.0.0.7:8019",
            "--name",
            "app_3",
            "--route",
            "r3",
            "--template",
            "tomcat1",
        ])
        .expect("parse");
        match cli.command {
            Cmd::Add {
                balancer,
                address,
                name,
                route,
                template,
            } => {
                assert_eq!(balancer, "lb");
                assert_eq!(
                    address,
                    HostPort {
                        host: "10.0.0.7".into(),
                        port: 8019
                    }
                );
                assert_eq!(name.as_deref(), Some("app_3"));
                assert_eq!(route.as_deref(), Some("r3"));
                assert_eq!(template.as_deref(), Some("tomcat1"));
            }
            c => panic!("{c:?}"),
        }
        let cli = Cli::try_parse_from(["jkctl", "add", "lb", "h:1"]).expect("parse");
        assert!(matches!(
            cli.command,
            Cmd::Add {
                name: None,
                route: None,
                template: None,
                ..
            }
        ));
        for bad in [
            vec!["jkctl", "add", "lb"],
            vec!["jkctl", "add", "lb", "h"],
            vec!["jkctl", "add", "lb", "h:0"],
            vec!["jkctl", "add", "lb", "h:1", "--name", "a b"],
            vec!["jkctl", "add", "lb", "h:1", "--route", "r.1"],
            vec!["jkctl", "remove", "lb"],
        ] {
            let e = Cli::try_parse_from(&bad).expect_err("usage");
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
        let cli =
            Cli::try_parse_from(["jkctl", "remove", "lb", "app_3", "--force"]).expect("parse");
        match cli.command {
            Cmd::Remove {
                balancer,
                member,
                force,
            } => assert_eq!(
                (balancer.as_str(), member.as_str(), force),
                ("lb", "app_3", true)
            ),
            c => panic!("{c:?}"),
        }
        let cli = Cli::try_parse_from(["jkctl", "remove", "lb", "app_3"]).expect("parse");
        assert!(matches!(cli.command, Cmd::Remove { force: false, .. }));
    }

    #[test]
    fn debug_of_the_command_line_hides_the_password() {
        let cli = Cli::try_parse_from([
            "jkctl",
            "--url",
            "http://admin:s3cret@h/jk/",
            "--password-file",
            "/etc/jkctl.pw",
            "status",
        ])
        .expect("parse");
        let debug = format!("{cli:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("admin:***@h"), "{debug}");
        assert_eq!(
            cli.url.as_ref().map(StatusUrl::as_str),
            Some("http://admin:s3cret@h/jk/")
        );
    }

    #[test]
    fn missing_url_is_a_usage_error() {
        let cli = Cli::try_parse_from(["jkctl", "status"]).expect("parse");
        if cli.url.is_none() {
            let e = run(cli).expect_err("no url");
            assert_eq!(e.exit_code(), 2);
        }
    }
}
