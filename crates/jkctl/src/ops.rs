//! The procedures: activation changes, drain, restart, rolling restart. Progress goes to
//! stdout, one line per step (and per change while waiting).

use crate::client::Api;
use crate::criteria::{self, DrainCheck};
use crate::doc::{Member, StatusDoc};
use crate::lookup;
use crate::template;
use crate::Error;
use jk_config::Activation;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// `300 s`, `0.5 s`.
pub fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// Consecutive failed polls tolerated while waiting (httpd graceful restarts, hiccups).
const POLL_FAILURES_TOLERATED: u32 = 3;

/// Re-reads member `member` of `lb`.
pub fn fetch_member(api: &dyn Api, lb: &str, member: &str) -> Result<(StatusDoc, Member), Error> {
    let doc = api.fetch()?;
    let m = doc.member(lb, member).cloned().ok_or_else(|| {
        Error::Failed(format!(
            "member {member} of balancer {lb} is no longer in the status"
        ))
    })?;
    Ok((doc, m))
}

/// Prints `prefix: text` when `text` changed or every 5 s.
struct Progress {
    prefix: String,
    last: Option<(String, Instant)>,
}

impl Progress {
    fn new(prefix: String) -> Progress {
        Progress { prefix, last: None }
    }

    fn show(&mut self, text: &str) {
        let due = match &self.last {
            None => true,
            Some((t, at)) => t != text || at.elapsed() >= Duration::from_secs(5),
        };
        if due {
            println!("{}: {text}", self.prefix);
            self.last = Some((text.to_string(), Instant::now()));
        }
    }
}

/// How to wait: for how long, how often to look, what to print and call the goal.
#[derive(Clone, Debug)]
pub struct Wait<'a> {
    /// Give up after this long.
    pub timeout: Duration,
    /// Poll interval.
    pub interval: Duration,
    /// Prefix of the progress lines.
    pub progress_prefix: &'a str,
    /// The goal, for the timeout message.
    pub what: &'a str,
}

/// Polls member `member` every `w.interval` until `check` says done (returns the member),
/// or `w.timeout` passes (a `Failed` error with the last description).
pub fn wait_for(
    api: &dyn Api,
    lb: &str,
    member: &str,
    w: &Wait<'_>,
    mut check: impl FnMut(&StatusDoc, &Member) -> (bool, String),
) -> Result<Member, Error> {
    let Wait {
        timeout,
        interval,
        progress_prefix,
        what,
    } = *w;
    let deadline = Instant::now() + timeout;
    let mut progress = Progress::new(progress_prefix.to_string());
    let mut failures = 0;
    let mut last: String;
    loop {
        match fetch_member(api, lb, member) {
            Ok((doc, m)) => {
                failures = 0;
                let (done, text) = check(&doc, &m);
                progress.show(&text);
                if done {
                    return Ok(m);
                }
                last = text;
            }
            Err(Error::Unreachable(e)) if failures < POLL_FAILURES_TOLERATED => {
                failures += 1;
                println!("{progress_prefix}: warning: {e} (retrying)");
                last = e;
            }
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Err(Error::Failed(format!(
                "{what} not reached within {} ({last})",
                fmt_secs(timeout)
            )));
        }
        thread::sleep(interval.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// Sets the activation of a member and checks that the status shows it.
pub fn set_activation(api: &dyn Api, lb: &str, member: &str, a: Activation) -> Result<(), Error> {
    api.update(lb, member, &[("vwa", a.letter())])?;
    let (_, m) = fetch_member(api, lb, member)?;
    match m.activation.as_deref() {
        Some(got) if got != a.text() => Err(Error::Failed(format!(
            "the status worker answered OK, but {member} is {got}, not {}",
            a.text()
        ))),
        _ => Ok(()),
    }
}

/// Sets (`vwm=R`) or clears (`vwm=0`) restart maintenance and checks the `restarting` flag.
pub fn set_maintenance(api: &dyn Api, lb: &str, member: &str, on: bool) -> Result<(), Error> {
    api.update(lb, member, &[("vwm", if on { "R" } else { "0" })])?;
    let (_, m) = fetch_member(api, lb, member)?;
    match (on, m.restarting) {
        (true, Some(true)) | (false, Some(false)) => Ok(()),
        (true, None) => Err(Error::Failed(format!(
            "the status worker does not report `restarting` for {member}: this build has no \
             restart maintenance (vwm=R); nothing was changed"
        ))),
        (true, Some(false)) => Err(Error::Failed(format!(
            "the status worker accepted vwm=R, but {member} is not restarting (unsupported value?)"
        ))),
        // Clearing on a build without the flag.
        (false, None) => Ok(()),
        (false, Some(true)) => Err(Error::Failed(format!(
            "the status worker accepted vwm=0, but {member} is still restarting"
        ))),
    }
}

/// Options of `drain`.
#[derive(Clone, Debug)]
pub struct DrainOpts {
    /// Disable the member first.
    pub disable: bool,
    /// Wait until idle (else check once).
    pub wait: bool,
    /// Seconds without a sticky request.
    pub quiet: u64,
    /// Give up after this long.
    pub timeout: Duration,
    /// Poll interval.
    pub interval: Duration,
}

/// Drains a member: optionally disables it, then waits until no request is in flight and
/// no sticky request came for `quiet` seconds.
pub fn drain(api: &dyn Api, lb: &str, member: &str, o: &DrainOpts) -> Result<(), Error> {
    let prefix = format!("drain {member}");
    if o.disable {
        set_activation(api, lb, member, Activation::Disabled).map_err(|e| e.context(&prefix))?;
        println!("{prefix}: disabled (DIS: no new sessions, sticky requests still served)");
    }
    let check = |doc: &StatusDoc, m: &Member| {
        let c = DrainCheck::of(m, doc.now_unix(), o.quiet);
        (c.idle(), c.describe())
    };
    if !o.wait {
        let (doc, m) = fetch_member(api, lb, member).map_err(|e| e.context(&prefix))?;
        let (idle, text) = check(&doc, &m);
        println!("{prefix}: {text}");
        if !idle {
            return Err(Error::Failed(format!(
                "{prefix}: not idle yet ({text}); --wait waits for it"
            )));
        }
        println!("{prefix}: idle");
        return Ok(());
    }
    let timeout = o.timeout;
    let w = Wait {
        timeout,
        interval: o.interval,
        progress_prefix: &prefix,
        what: "idle",
    };
    wait_for(api, lb, member, &w, check).map_err(|e| e.context(&prefix))?;
    println!(
        "{prefix}: idle (no request in flight, no sticky request for {} s)",
        o.quiet
    );
    Ok(())
}

/// Options of `restart`.
#[derive(Clone, Debug)]
pub struct RestartOpts {
    /// The command template (`{member}`, `{balancer}`).
    pub cmd: String,
    /// Wait this long for in-flight requests to finish.
    pub drain_timeout: Duration,
    /// Wait this long for the member to be ready after the command.
    pub ready_timeout: Duration,
    /// Poll interval.
    pub interval: Duration,
}

/// Runs `cmd` with `sh -c`, printing its output lines prefixed with `[member]`.
pub fn run_command(cmd: &str, member: &str, lb: &str) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("JKCTL_MEMBER", member)
        .env("JKCTL_BALANCER", lb)
        // The restart command is the user's own: it gets no credentials of the status worker.
        .env_remove(crate::creds::ENV_PASSWORD)
        .env_remove(crate::creds::ENV_USER)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run sh: {e}"))?;
    let pump = |r: Option<Box<dyn Read + Send>>, tag: String| {
        r.map(|r| {
            thread::spawn(move || {
                for line in BufReader::new(r).split(b'\n').map_while(Result::ok) {
                    let line = String::from_utf8_lossy(&line);
                    println!("  [{tag}] {}", line.trim_end_matches('\r'));
                }
            })
        })
    };
    let out = pump(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
        member.to_string(),
    );
    let err = pump(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
        format!("{member} stderr"),
    );
    let status = child
        .wait()
        .map_err(|e| format!("waiting for the command: {e}"))?;
    for t in [out, err].into_iter().flatten() {
        let _ = t.join();
    }
    if status.success() {
        Ok(())
    } else {
        Err(match status.code() {
            Some(c) => format!("the command exited with status {c}"),
            None => format!("the command was killed ({status})"),
        })
    }
}

fn clear_hint(member: &str, lb: &str) -> String {
    format!(
        "{member} is left in restart maintenance (no new requests); once the backend is \
         fine: jkctl maintenance {member} --balancer {lb} --clear (it then returns after its \
         readiness probes), or run the restart again"
    )
}

/// Restarts one member: restart maintenance, drain, command, clear maintenance, ready,
/// activate + verify. See the `restart` help for what is left behind on failure.
pub fn restart(api: &dyn Api, lb: &str, member: &str, o: &RestartOpts) -> Result<(), Error> {
    let prefix = format!("restart {member}");
    let fail = |step: &str, e: Error| e.context(&format!("{prefix}: {step} failed"));

    // 1. Restart maintenance: no new requests, sticky requests held, awaits readiness.
    set_maintenance(api, lb, member, true).map_err(|e| fail("step 1/6 (mark restarting)", e))?;
    println!("{prefix}: step 1/6 marked restarting (no new requests, sticky requests held)");

    // 2. Wait for the requests in flight.
    let w = Wait {
        timeout: o.drain_timeout,
        interval: o.interval,
        progress_prefix: &format!("{prefix}: step 2/6 draining"),
        what: "no request in flight",
    };
    let drained = wait_for(api, lb, member, &w, |_, m| {
        let n = m.in_flight_or_busy();
        (
            n == Some(0),
            n.map_or_else(|| "in flight unknown".into(), |n| format!("{n} in flight")),
        )
    });
    if let Err(e) = drained {
        // Nothing was done to the backend: give the member back as it was.
        let undo = match set_maintenance(api, lb, member, false) {
            Ok(()) => "restart maintenance cleared, the member is as before".to_string(),
            Err(u) => format!("clearing restart maintenance failed too: {u}"),
        };
        return Err(fail("step 2/6 (drain)", e).map_message(|m| format!("{m}; {undo}")));
    }
    println!("{prefix}: step 2/6 drained (0 in flight)");

    // 3. The command.
    let cmd = template::render(&o.cmd, member, lb);
    println!("{prefix}: step 3/6 running: {cmd}");
    if let Err(e) = run_command(&cmd, member, lb) {
        // The backend may be half down: keep it out of traffic until someone looked.
        return Err(Error::Failed(format!(
            "{prefix}: step 3/6 (command) failed: {e}; {}",
            clear_hint(member, lb)
        )));
    }
    println!("{prefix}: step 3/6 command finished");

    // 4. The restart is over: clear maintenance. The module keeps the member out of
    //    rotation until its readiness probes pass.
    set_maintenance(api, lb, member, false).map_err(|e| fail("step 4/6 (clear)", e))?;
    println!("{prefix}: step 4/6 restart maintenance cleared (returns through readiness)");

    // 5. Ready again.
    let (_, m) = fetch_member(api, lb, member).map_err(|e| fail("step 5/6 (ready)", e))?;
    if m.awaiting_readiness.is_none() {
        println!(
            "{prefix}: step 5/6 note: the status worker does not report awaiting_readiness; \
             readiness is judged by state and restarting only"
        );
    }
    let w = Wait {
        timeout: o.ready_timeout,
        interval: o.interval,
        progress_prefix: &format!("{prefix}: step 5/6 waiting for ready"),
        what: "ready (state OK or OK/IDLE, not restarting, not awaiting readiness)",
    };
    wait_for(api, lb, member, &w, |_, m| {
        (criteria::is_ready(m), criteria::describe_readiness(m))
    })
    .map_err(|e| {
        fail("step 5/6 (ready)", e).map_message(|m| {
            format!(
                "{m}; {member} stays out of rotation until its readiness probes pass; \
                 check the backend"
            )
        })
    })?;
    println!("{prefix}: step 5/6 ready");

    // 6. Activate if needed, verify.
    let (_, m) = fetch_member(api, lb, member).map_err(|e| fail("step 6/6 (activate)", e))?;
    let was = m.activation_text().to_string();
    if !m.is_active() {
        set_activation(api, lb, member, Activation::Active)
            .map_err(|e| fail("step 6/6 (activate)", e))?;
    }
    let (_, m) = fetch_member(api, lb, member).map_err(|e| fail("step 6/6 (verify)", e))?;
    criteria::verify_after_restart(&m)
        .map_err(|e| Error::Failed(format!("{prefix}: step 6/6 (verify) failed: {e}")))?;
    println!(
        "{prefix}: step 6/6 verified ({}, {}){}",
        m.activation_text(),
        m.state_text(),
        if was == Activation::Active.text() {
            String::new()
        } else {
            format!(", activated (was {was})")
        }
    );
    Ok(())
}

/// Options of `roll`.
#[derive(Clone, Debug)]
pub struct RollOpts {
    /// Per-member restart options.
    pub restart: RestartOpts,
    /// Pause between two members.
    pub pause: Duration,
    /// Roll even with fewer than 2 usable members.
    pub force: bool,
    /// Also restart members that are stopped (STP); by default they are skipped.
    pub include_stopped: bool,
}

/// Restarts every member of `lb`, one at a time, in order; stops at the first failure.
pub fn roll(api: &dyn Api, lb: &str, o: &RollOpts) -> Result<(), Error> {
    let prefix = format!("roll {lb}");
    let doc = api.fetch()?;
    let b = lookup::find_balancer(&doc, lb)?;
    let usable: Vec<&str> = b
        .members
        .iter()
        .filter(|m| criteria::is_usable(m))
        .map(|m| m.name.as_str())
        .collect();
    println!(
        "{prefix}: {} members, {} usable ({})",
        b.members.len(),
        usable.len(),
        if usable.is_empty() {
            "none".into()
        } else {
            usable.join(", ")
        }
    );
    if usable.len() < 2 && !o.force {
        return Err(Error::Failed(format!(
            "{prefix}: refusing to start: only {} usable member(s) (ACT, OK/OK/IDLE/OK/BUSY, not gated), \
             restarting them one by one would take the site down; --force overrides",
            usable.len()
        )));
    }
    let members: Vec<Member> = b.members.clone();
    let total = members.len();
    let mut restarted = 0;
    for (i, m) in members.iter().enumerate() {
        let step = format!("{prefix}: [{}/{total}] {}", i + 1, m.name);
        if m.activation() == Some(Activation::Stopped) && !o.include_stopped {
            println!("{step}: skipped (stopped; --include-stopped restarts it too)");
            continue;
        }
        if restarted > 0 && !o.pause.is_zero() {
            println!("{prefix}: pause {}", fmt_secs(o.pause));
            thread::sleep(o.pause);
        }
        if !o.force {
            let doc = api.fetch().map_err(|e| e.context(&step))?;
            let others = doc.balancer(lb).map_or(0, |b| {
                b.members
                    .iter()
                    .filter(|x| x.name != m.name && criteria::is_usable(x))
                    .count()
            });
            if others == 0 {
                return Err(Error::Failed(format!(
                    "{step}: refusing to restart: no other member is usable right now \
                     (--force overrides); stopped after {restarted} restarted"
                )));
            }
        }
        println!("{step}");
        restart(api, lb, &m.name, &o.restart).map_err(|e| {
            e.context(&format!(
                "{prefix}: stopped at {} ({}/{total}, {restarted} restarted before)",
                m.name,
                i + 1
            ))
        })?;
        restarted += 1;
    }
    println!("{prefix}: done, {restarted} of {total} members restarted");
    Ok(())
}
