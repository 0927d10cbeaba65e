//! One request through the load balancer: choosing a member (§5.3), bookkeeping (§5.2),
//! state transitions after each try (§5.5) and the retry plan with its final status (§5.6).

use std::sync::Arc;
use std::time::Duration;

use jk_config::{Activation, LbLock, LbMethod, MemberState, RuleExtensions};
use jk_shm::{ChildField, Field};

use crate::balancer::{Balancer, NoteValue};
use crate::session::{env_flag, session_ids};
use crate::state::{usable, usable_sticky};

/// What the lb needs to know about a request.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestInfo<'a> {
    /// The forwarded URI, path parameters included.
    pub uri: &'a str,
    /// Every `Cookie` request header value, in order.
    pub cookies: &'a [&'a str],
    /// The request came over SSL (`;Secure` on a generated cookie).
    pub is_ssl: bool,
    /// Env `JK_ROUTE`.
    pub jk_route: Option<&'a str>,
    /// Env `JK_STICKY_IGNORE` (overrides the rule extension).
    pub jk_sticky_ignore: Option<&'a str>,
    /// Env `JK_STATELESS` (overrides the rule extension).
    pub jk_stateless: Option<&'a str>,
    /// The mapping rule's extensions (§4.4; the balancer reads sticky_ignore, stateless,
    /// the activation overrides, session_cookie, session_path and set_session_cookie).
    pub rule: Option<&'a RuleExtensions>,
}

/// How one try on a member ended, as the glue saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The response was delivered.
    Success,
    /// The client failed (read/write error, 400/413): no failover.
    ClientError,
    /// The backend answered a `fail_on_status` code: positive (`hard`) puts the member in
    /// ERROR, negative only fails this request.
    FailOnStatus { hard: bool },
    /// busy_limit reached.
    Busy,
    /// reply_timeout expired.
    ReplyTimeout,
    /// No free pooled connection within connection_acquire_timeout.
    NoConnection,
    /// Connect, send or receive failure, backend closed, protocol error.
    Failed,
}

/// The member to forward to next. It borrows its name from the balancer and owns nothing:
/// a choice allocates nothing (issue 17). The AJP `route` to send is
/// [`Attempt::worker_route`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice<'b> {
    /// Index in balance_workers order.
    pub index: usize,
    pub name: &'b str,
    /// The member's activation for this request (sent as `JK_LB_ACTIVATION`).
    pub activation: Activation,
    /// Routed by its session to exactly this member (mod_jk `s->sticky`; also true for the
    /// single-member special case).
    pub sticky: bool,
    /// Sleep this long before sending (lb `retry_interval` between rounds).
    pub sleep_before: Duration,
}

/// Where the request's route comes from: named by index into the member strings, so that
/// choosing a member copies no string.
#[derive(Debug, Clone)]
enum RouteOf {
    /// JK_ROUTE, set by the web server.
    Given(String),
    /// The domain of member `i`.
    Domain(usize),
    /// The route of member `i`.
    Member(usize),
}

struct Pending {
    index: usize,
    added_value: u64,
    counted_session: bool,
}

/// The failover plan of one request. Take members with [`Attempt::next_member`] (or as an
/// iterator) and [`report`](Attempt::report) each one's outcome before taking the next.
pub struct Attempt<'b> {
    bal: &'b Balancer,
    session: Option<String>,
    stateless: bool,
    overrides: Vec<Option<Activation>>,
    /// This request's view of the states, with its local failure marks (mod_jk `states[]`).
    states: Vec<MemberState>,
    /// `states` differs from `views.states` (a local mark or a BUSY member set back to OK):
    /// choosing by value then scans every member.
    marked: bool,
    /// Each member's activation, gate (restarting, awaiting readiness, standby) and distance
    /// as this request read them (shared with the process's other requests until they
    /// change; the rule's `overrides` apply on top).
    views: Arc<crate::balancer::MemberViews>,
    strings: Arc<crate::balancer::MemberStrings>,
    per_round: u32,
    attempt: u32,
    round: u32,
    was_forced: bool,
    done: bool,
    sticky: bool,
    /// The AJP `route` attribute to send (mod_jk `s->route`: JK_ROUTE, the session's domain
    /// when chosen by domain, else the first chosen member's route; kept across failover).
    route: Option<RouteOf>,
    pending: Option<Pending>,
    status: u16,
    first_notes: Option<crate::balancer::NoteSnapshot>,
    last: Option<usize>,
    /// The last member taken and whether by its session (the generated session cookie).
    last_choice: Option<(usize, bool)>,
    set_cookie: bool,
    is_ssl: bool,
    sleep: Duration,
    tries: u32,
    /// hold_for returned a member: re-read the states before the next choice.
    held: bool,
    /// The glue stopped waiting (timeout or hold_max): no more holding.
    hold_given_up: bool,
    /// The session id (one of several) whose route chose the member.
    routed_partial: Option<String>,
}

impl Balancer {
    /// Starts a request: BUSY members with a free connection go back to OK, the session id is
    /// extracted (when sticky_session is on and not ignored), the shared states are copied.
    pub fn start<'b>(&'b self, req: &RequestInfo<'_>) -> Attempt<'b> {
        // The balancer's requests, in this child's own line (layout 5: no word of the
        // balancer is written by every request of every child).
        self.lb.child_add(self.child(), ChildField::Elected, 1);
        // (BUSY members with a free connection go back to OK as the states are read.)
        let strings = self.member_strings();
        let rule = req.rule;
        let flag = |env: Option<&str>, ext: bool| env.map_or(ext, env_flag);
        let sticky_ignore = flag(req.jk_sticky_ignore, rule.is_some_and(|r| r.sticky_ignore));
        let stateless = flag(req.jk_stateless, rule.is_some_and(|r| r.stateless));
        let jk_route = req.jk_route.filter(|r| !r.is_empty());
        let session = if self.settings().sticky_session && !sticky_ignore {
            match jk_route {
                // mod_jk: a route set by the web server fakes the session ".<route>".
                Some(r) => Some(format!(".{r}")),
                None => session_ids(
                    req.uri,
                    req.cookies,
                    rule.and_then(|r| r.session_path.as_deref())
                        .unwrap_or(&self.session_path),
                    rule.and_then(|r| r.session_cookie.as_deref())
                        .unwrap_or(&self.session_cookie),
                ),
            }
        } else {
            None
        };
        // Empty unless the rule changes an activation (the usual case allocates nothing).
        let mut overrides = Vec::new();
        for (name, a) in rule.map_or(&[][..], |r| &r.activations[..]) {
            if let Some(i) = self.member_index(name) {
                if overrides.is_empty() {
                    overrides = vec![None; self.members.len()];
                }
                overrides[i] = Some(*a);
            }
        }
        let n = u32::try_from(strings.in_use_count).unwrap_or(u32::MAX);
        let mut a = Attempt {
            bal: self,
            session,
            stateless,
            overrides,
            states: Vec::with_capacity(self.members.len()),
            marked: false,
            views: self.member_views(&strings),
            strings,
            per_round: self.lb_retries.min(n).max(1),
            attempt: 0,
            round: 0,
            was_forced: false,
            done: false,
            sticky: false,
            route: jk_route.map(|r| RouteOf::Given(r.to_string())),
            pending: None,
            status: 503,
            first_notes: None,
            last: None,
            last_choice: None,
            set_cookie: self.set_session_cookie || rule.is_some_and(|r| r.set_session_cookie),
            is_ssl: req.is_ssl,
            sleep: Duration::ZERO,
            tries: 0,
            held: false,
            hold_given_up: false,
            routed_partial: None,
        };
        a.read_members();
        a
    }
}

impl<'b> Attempt<'b> {
    /// Re-reads the shared states and member strings, clearing the local failure marks.
    fn refresh(&mut self) {
        self.strings = self.bal.member_strings();
        self.read_members();
    }

    /// Copies the members' states (for this request's own failure marks) and views, with
    /// `strings` as they are.
    fn read_members(&mut self) {
        let b = self.bal;
        let n = b.members.len();
        self.views = b.member_views(&self.strings);
        self.marked = false;
        self.states.clear();
        self.states
            .extend_from_slice(&self.views.states[..n.min(self.views.states.len())]);
        // BUSY members with a free connection go back to OK (mod_jk at request start).
        if self.views.any_busy {
            for i in 0..self.states.len() {
                if self.states[i] == MemberState::Busy
                    && b.endpoint_free(i)
                    && b.transition(i, MemberState::Busy, MemberState::Ok)
                {
                    self.mark(i, MemberState::Ok);
                }
            }
        }
    }

    /// The session id(s) this request is routed by (None: no session, or stickiness off).
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Call before the first [`next_member`](Attempt::next_member): `Some(i)` when this
    /// request should wait for member `i` instead of failing over, because hold is on
    /// ([`crate::RollingSettings`]), nothing was tried yet, and its session route names
    /// member `i` exactly while it is restarting, awaiting readiness or in ERROR/RECOVER/PROBE
    /// and not [ready](Balancer::is_ready). Requests without a session route, or whose route
    /// reaches a usable member through an earlier session id, never hold; neither does a
    /// member stopped (also by a rule).
    ///
    /// The glue then waits (at most the hold timeout, and only while fewer than hold_max
    /// requests of its process are held) until [`Balancer::is_ready`] is true and calls
    /// `next_member` (which picks the member by its session as usual), or calls
    /// [`give_up_hold`](Attempt::give_up_hold) and goes on with the normal failover.
    pub fn hold_for(&mut self) -> Option<usize> {
        let b = self.bal;
        if !b.rolling.hold_enabled() || self.hold_given_up || self.tries > 0 || self.done {
            return None;
        }
        let session = self.session.clone()?;
        for partial in session.split(';') {
            let Some((_, route)) = partial.split_once('.') else {
                continue;
            };
            if let Some(c) = self.find_by_route(route) {
                if self.act(c) == Activation::Stopped {
                    continue;
                }
                if b.down_for_hold(c) && !b.is_ready(c) {
                    self.held = true;
                    return Some(c);
                }
                if self.usable_sticky(c) {
                    return None;
                }
            } else if self.find_best_by_domain(route).is_some() {
                return None;
            }
        }
        None
    }

    /// The glue stopped holding this request (hold timeout, or hold_max reached): the next
    /// [`next_member`](Attempt::next_member) fails over as mod_jk does.
    pub fn give_up_hold(&mut self) {
        self.hold_given_up = true;
        self.held = true;
    }

    /// The next member to try, or None when the plan is exhausted (then see
    /// [`final_status`](Attempt::final_status)). A try that was not reported counts as
    /// [`Outcome::Failed`] with status 503.
    ///
    /// Rounds (lb `retries`) of at most `min(lb_retries, members)` tries each; between rounds
    /// the local failure marks are cleared and the returned choice carries the lb
    /// `retry_interval` in [`Choice::sleep_before`] (the glue sleeps, not this crate). When no
    /// member is usable, ERROR members are forced into recovery once per request; a search
    /// that still finds none uses up a try, as in mod_jk (which would also sleep between such
    /// empty rounds; here the plan just ends sooner).
    pub fn next_member(&mut self) -> Option<Choice<'b>> {
        if let Some(p) = self.pending.as_ref() {
            let i = p.index;
            self.finish(i, Outcome::Failed, 503, true);
        }
        let b = self.bal;
        if std::mem::take(&mut self.held) {
            // The request waited: the states it copied at the start are stale.
            self.refresh();
        }
        while !self.done {
            if self.attempt >= self.per_round {
                self.round += 1;
                if self.round >= b.settings().retries {
                    self.done = true;
                    break;
                }
                self.sleep += Duration::from_millis(u64::from(b.settings().retry_interval_ms));
                self.refresh();
                self.attempt = 0;
            }
            self.status = 503;
            let Some(i) = self.choose() else {
                if !self.was_forced {
                    // Force recovery once per request, then search again.
                    self.was_forced = true;
                    if b.force_recovery() > 0 {
                        self.marked = true;
                        for (j, s) in self.states.iter_mut().enumerate() {
                            if *s == MemberState::Error && b.state(j) == MemberState::Force {
                                *s = MemberState::Force;
                            }
                        }
                        continue;
                    }
                }
                self.attempt += 1;
                continue;
            };
            if let Some(c) = self.take(i) {
                return Some(c);
            }
        }
        None
    }

    fn act(&self, i: usize) -> Activation {
        match self.overrides.get(i) {
            Some(Some(a)) => *a,
            _ => self.views[i].act,
        }
    }

    /// This request's own view of member `i`'s state (mod_jk's local `states[i]`).
    fn mark(&mut self, i: usize, s: MemberState) {
        self.states[i] = s;
        self.marked = true;
    }

    fn usable(&self, i: usize) -> bool {
        !self.views[i].gated && usable(self.states[i], self.act(i))
    }

    fn usable_sticky(&self, i: usize) -> bool {
        !self.views[i].gated && usable_sticky(self.states[i], self.act(i))
    }

    fn distance(&self, i: usize) -> u64 {
        self.views[i].distance
    }

    fn lb_value(&self, i: usize) -> u64 {
        self.bal.slot(i).get(Field::LbValue)
    }

    /// mod_jk `get_most_suitable_worker`.
    fn choose(&mut self) -> Option<usize> {
        self.sticky = false;
        self.routed_partial = None;
        if let Some(only) = self.strings.only {
            let a = self.act(only);
            if !self.usable_sticky(only) {
                return None;
            }
            if a != Activation::Disabled {
                self.sticky = true;
                return Some(only);
            }
        }
        let bal = self.bal;
        match bal.settings().lock {
            LbLock::Pessimistic => bal.lb.with_lock(|| self.choose_locked()),
            LbLock::Optimistic => {
                let _g = bal.choice_lock.lock();
                self.choose_locked()
            }
        }
    }

    fn choose_locked(&mut self) -> Option<usize> {
        if let Some(session) = self.session.clone() {
            for partial in session.split(';') {
                if let Some((_, route)) = partial.split_once('.') {
                    if let Some(i) = self.find_by_session_route(route) {
                        self.routed_partial = Some(partial.to_string());
                        return Some(i);
                    }
                }
            }
            if self.bal.settings().sticky_session_force {
                return None;
            }
        }
        self.find_best_by_value()
            .or_else(|| self.find_failover_member())
    }

    fn find_by_route(&self, route: &str) -> Option<usize> {
        self.strings.routes.iter().position(|r| r == route)
    }

    /// The best usable member of the domain named by `route_or_domain` (its part before the
    /// first `.`): lowest distance, then lowest lb_value.
    fn find_best_by_domain(&self, route_or_domain: &str) -> Option<usize> {
        let domain = route_or_domain
            .split_once('.')
            .map_or(route_or_domain, |(d, _)| d);
        let mut best: Option<(usize, u64, u64)> = None;
        for (i, d) in self.strings.domains.iter().enumerate() {
            if d.is_empty() || d != domain || !self.usable(i) {
                continue;
            }
            let (dist, v) = (self.distance(i), self.lb_value(i));
            if best.is_none_or(|(_, bd, bv)| dist < bd || (v < bv && dist == bd)) {
                best = Some((i, dist, v));
            }
        }
        best.map(|(i, _, _)| i)
    }

    /// mod_jk `find_bysession_route`: exact route, else domain; an unusable result is
    /// replaced by its redirect or by its domain (unless sticky_session_force).
    fn find_by_session_route(&mut self, route: &str) -> Option<usize> {
        let mut uses_domain = false;
        let mut cand = self.find_by_route(route);
        if cand.is_none() {
            uses_domain = true;
            cand = self.find_best_by_domain(route);
        } else {
            self.sticky = true;
        }
        let c = cand?;
        if uses_domain {
            self.route = Some(RouteOf::Domain(c));
        }
        if self.usable_sticky(c) {
            return Some(c);
        }
        if self.bal.settings().sticky_session_force {
            return None;
        }
        let next = if !self.strings.redirects[c].is_empty() {
            self.route = None;
            self.find_by_route(&self.strings.redirects[c].clone())
        } else if !self.strings.domains[c].is_empty() && !uses_domain {
            let found = self.find_best_by_domain(&self.strings.domains[c]);
            self.route = found.map(|_| RouteOf::Domain(c));
            found
        } else {
            Some(c)
        };
        next.filter(|&n| self.usable_sticky(n))
    }

    /// mod_jk `find_best_byvalue`: from the rotating offset, the usable member with the
    /// lowest distance, then strictly lowest lb_value (not compared when stateless).
    fn find_best_by_value(&mut self) -> Option<usize> {
        let n = self.bal.members.len();
        let offset = self
            .bal
            .next_offset
            .load(std::sync::atomic::Ordering::Relaxed);
        let stateless = self.stateless;
        // (index, distance, lb_value) of the best so far; usize::MAX: none yet.
        let mut best = (usize::MAX, 0, 0);
        let mut consider = |i: usize, dist: u64, v: u64| {
            if best.0 == usize::MAX || dist < best.1 || (!stateless && v < best.2 && dist == best.1)
            {
                best = (i, dist, v);
            }
        };
        if self.overrides.is_empty() && !self.marked {
            // Nothing of this request differs from the process's copy: only the usable
            // members it lists can win, visited in the same rotating order.
            let cands = &self.views.candidates;
            let start = cands.partition_point(|c| c.index < offset % n.max(1));
            let (tail, head) = cands.split_at(start);
            for part in [head, tail] {
                for c in part {
                    let v = c.lb_value.load(std::sync::atomic::Ordering::Acquire);
                    consider(c.index, c.distance, v);
                }
            }
        } else {
            for j in offset..offset + n {
                let i = j % n;
                if self.usable(i) {
                    consider(i, self.distance(i), self.lb_value(i));
                }
            }
        }
        let i = best.0;
        if i == usize::MAX {
            return None;
        }
        self.bal
            .next_offset
            .store(i + 1, std::sync::atomic::Ordering::Relaxed);
        Some(i)
    }

    /// mod_jk `find_failover_worker`: the redirect of the first member that has one (hot
    /// standby when nothing else is usable).
    fn find_failover_member(&mut self) -> Option<usize> {
        let redirect = self
            .strings
            .redirects
            .iter()
            .find(|r| !r.is_empty())?
            .clone();
        let r = self.find_by_session_route(&redirect);
        self.sticky = false;
        r
    }

    /// Books member `i` for a try; None when its busy_limit is exceeded (then it is BUSY and
    /// the try counts as failed).
    fn take(&mut self, i: usize) -> Option<Choice<'b>> {
        let b = self.bal;
        let slot = b.slot(i);
        if self.route.is_none() {
            self.route = Some(RouteOf::Member(i));
        }
        if b.transition(i, MemberState::Recover, MemberState::Probe)
            || self.states[i] == MemberState::Recover
        {
            self.mark(i, MemberState::Probe);
        }
        let child = b.child();
        let busy = slot.busy_inc(child);
        b.lb.busy_inc(child);
        self.last = Some(i);
        self.tries += 1;
        let limit = b.busy_limit(i);
        if limit > 0 && busy > limit && b.member_trusted(i) {
            slot.busy_dec(child);
            b.lb.busy_dec(child);
            self.mark_busy(i);
            self.status = 503;
            self.note_first(i);
            self.attempt += 1;
            return None;
        }
        let method = b.method();
        let new_session = self.session.is_none() && !self.stateless;
        let mult = slot.get(Field::LbMult);
        let added_value = match method {
            LbMethod::Request | LbMethod::Busyness => mult,
            LbMethod::Sessions | LbMethod::Next if new_session => mult,
            _ => 0,
        };
        // Slow start: a returning member's requests weigh more while its share ramps up.
        let added_value = b.slow_start_charge(i, added_value);
        slot.add(Field::LbValue, added_value);
        if new_session {
            slot.child_add(child, ChildField::Sessions, 1);
        }
        slot.child_add(child, ChildField::Elected, 1);
        // Drain signal: a request routed to exactly this member by its session (not a
        // failover from the member the session names).
        let by_session = self.sticky
            && match &self.routed_partial {
                Some(p) => p
                    .split_once('.')
                    .is_some_and(|(_, r)| Some(r) == self.strings.routes.get(i).map(|s| &**s)),
                None => b.members.len() == 1,
            };
        if let (true, Some(session)) = (by_session, &self.session) {
            slot.set(Field::LastStickyTime, b.now());
            b.record_session(i, self.routed_partial.as_deref().unwrap_or(session));
        }
        self.pending = Some(Pending {
            index: i,
            added_value,
            counted_session: new_session,
        });
        self.last_choice = Some((i, self.sticky));
        Some(Choice {
            index: i,
            name: &b.members[i].name,
            activation: self.act(i),
            sticky: self.sticky,
            sleep_before: std::mem::take(&mut self.sleep),
        })
    }

    fn mark_busy(&mut self, i: usize) {
        if self.bal.state(i) != MemberState::Error {
            self.bal.set_state(i, MemberState::Busy);
        }
        if self.states[i] != MemberState::Error {
            self.mark(i, MemberState::Busy);
        }
    }

    fn note_first(&mut self, i: usize) {
        if self.first_notes.is_none() {
            self.first_notes = self.bal.note_snapshot(i);
        }
    }

    /// Counts the AJP bytes the try on `choice` sent to and received from the member's
    /// backend, whatever its outcome, before [`report`](Attempt::report)ing it: they go to the
    /// member's ajp record (this child's line), and with the Traffic method the member's
    /// lb_value grows by their sum times lb_mult (mod_jk `service` in jk_lb_worker, after
    /// every try that had an endpoint).
    pub fn count_traffic(&self, choice: &Choice<'_>, received: u64, sent: u64) {
        let b = self.bal;
        let i = choice.index;
        if i >= b.members.len() {
            return;
        }
        let ajp = b.ajp_slot(i);
        let child = b.child();
        ajp.child_add(child, ChildField::Read, received);
        ajp.child_add(child, ChildField::Transferred, sent);
        let bytes = received.saturating_add(sent);
        if b.method() == LbMethod::Traffic && bytes > 0 {
            let slot = b.slot(i);
            slot.add(
                Field::LbValue,
                b.slow_start_charge(i, bytes.saturating_mul(slot.get(Field::LbMult))),
            );
        }
    }

    /// Reports how the try on `choice` ended, with the HTTP status it produced (the status of
    /// the request if it is the last try). Applies §5.5; success and client errors end the
    /// plan.
    pub fn report(&mut self, choice: &Choice<'_>, outcome: Outcome, status: u16) {
        if self
            .pending
            .as_ref()
            .is_some_and(|p| p.index == choice.index)
        {
            self.finish(choice.index, outcome, status, true);
        }
    }

    /// Like [`report`](Attempt::report), for a failure the ajp worker declared not
    /// recoverable (recovery_options, body already streamed): no further member is tried.
    pub fn report_unrecoverable(&mut self, choice: &Choice<'_>, outcome: Outcome, status: u16) {
        if self
            .pending
            .as_ref()
            .is_some_and(|p| p.index == choice.index)
        {
            self.finish(choice.index, outcome, status, false);
        }
    }

    fn finish(&mut self, i: usize, outcome: Outcome, status: u16, recoverable: bool) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let b = self.bal;
        let slot = b.slot(i);
        let child = b.child();
        slot.busy_dec(child);
        b.lb.busy_dec(child);
        let method = b.method();
        let now = b.now();
        self.status = status;
        self.attempt += 1;
        if matches!(outcome, Outcome::NoConnection | Outcome::Busy) {
            // mod_jk books a member only once it has a connection: take the booking back.
            sub(slot.atomic(Field::LbValue), p.added_value);
            if p.counted_session {
                slot.child_sub_one(child, ChildField::Sessions);
            }
            slot.child_sub_one(child, ChildField::Elected);
            self.mark_busy(i);
            self.note_first(i);
            if !recoverable {
                self.done = true;
            }
            return;
        }
        if method == LbMethod::Busyness {
            sub(slot.atomic(Field::LbValue), p.added_value);
        }
        // A try that had a connection: OK unless already ERROR, then per outcome.
        if b.state(i) != MemberState::Error {
            b.set_state(i, MemberState::Ok);
            self.mark(i, MemberState::Ok);
        }
        let clear_errors = || {
            slot.set(Field::FirstErrorTime, 0);
            slot.set(Field::LastErrorTime, 0);
        };
        let hard_error = || {
            slot.add(Field::Errors, 1);
            b.set_state(i, MemberState::Error);
            slot.set(Field::FirstErrorTime, now);
            slot.set(Field::LastErrorTime, now);
        };
        let mut end = !recoverable;
        match outcome {
            Outcome::Success => {
                b.set_state(i, MemberState::Ok);
                clear_errors();
                end = true;
            }
            Outcome::ClientError => {
                slot.add(Field::ClientErrors, 1);
                b.set_state(i, MemberState::Ok);
                self.mark(i, MemberState::Error);
                clear_errors();
                end = true;
            }
            Outcome::FailOnStatus { hard: false } => {
                b.set_state(i, MemberState::Ok);
                self.mark(i, MemberState::Error);
                clear_errors();
            }
            Outcome::FailOnStatus { hard: true } => {
                hard_error();
                self.mark(i, MemberState::Error);
            }
            Outcome::ReplyTimeout => {
                let timeouts = slot.add(Field::ReplyTimeouts, 1).saturating_add(1);
                if timeouts > u64::from(b.settings().max_reply_timeouts) {
                    hard_error();
                }
                self.mark(i, MemberState::Error);
            }
            Outcome::Failed => {
                slot.add(Field::Errors, 1);
                let first = slot.get(Field::FirstErrorTime);
                let esc = u64::from(b.settings().error_escalation_time_s);
                if slot.busy() == 0 || esc == 0 || (first > 0 && now.saturating_sub(first) >= esc) {
                    b.set_state(i, MemberState::Error);
                }
                self.mark(i, MemberState::Error);
                if first == 0 {
                    slot.set(Field::FirstErrorTime, now);
                }
                slot.set(Field::LastErrorTime, now);
            }
            Outcome::NoConnection | Outcome::Busy => {}
        }
        self.note_first(i);
        if end {
            self.done = true;
        }
    }

    /// The status for the client: the last try's status, 503 when no member could be tried
    /// or the last round found none.
    pub fn final_status(&self) -> u16 {
        self.status
    }

    /// Members tried so far (busy_limit rejections included).
    pub fn tries(&self) -> u32 {
        self.tries
    }

    /// The value of the `JK_WORKER_ROUTE` note (mod_jk `s->route` after the request).
    pub fn worker_route(&self) -> Option<&str> {
        let s = &self.strings;
        match self.route.as_ref()? {
            RouteOf::Given(r) => Some(r),
            RouteOf::Domain(i) => s.domains.get(*i).map(|d| &**d),
            RouteOf::Member(i) => s.routes.get(*i).map(|r| &**r),
        }
    }

    /// `Set-Cookie` value to add when set_session_cookie is on (lb or rule) and the last
    /// member was not chosen by its session: `<session_cookie>=.<route>;PATH=<path>;HttpOnly`
    /// (`;Secure` over SSL). A single-member lb always counts as sticky, so never sets it.
    pub fn set_cookie_header(&self) -> Option<String> {
        if !self.set_cookie {
            return None;
        }
        let (i, _) = self.last_choice.filter(|&(_, sticky)| !sticky)?;
        let b = self.bal;
        let member_route = self.strings.routes.get(i).map_or("", |r| &**r);
        let mut v = format!("{}=.{}", b.session_cookie, member_route);
        if !b.session_cookie_path.is_empty() {
            v.push_str(";PATH=");
            v.push_str(&b.session_cookie_path);
        }
        v.push_str(";HttpOnly");
        if self.is_ssl {
            v.push_str(";Secure");
        }
        Some(v)
    }

    /// The `JK_LB_FIRST_*` (first member tried, as after its try) and `JK_LB_LAST_*` (last
    /// member tried, as now) note values.
    pub fn notes(&self) -> crate::balancer::Notes<'_> {
        use crate::balancer::LastNotes;
        let first = self.first_notes.as_ref().map(|f| self.bal.note_values(f));
        // One try: the last member is the first, whose snapshot was taken when that try
        // ended, and nothing of this request changed its counters since. The same values,
        // without a second pass over every child's lines of two slots (issue 17: each pass
        // reads lines the other children write), and the host stores them once.
        let last = match (&self.first_notes, self.last) {
            (Some(f), Some(i)) if self.tries == 1 && f.member == i => Some(LastNotes::SameAsFirst),
            _ => self
                .last
                .and_then(|i| self.bal.note_snapshot(i))
                .map(|s| LastNotes::Values(self.bal.note_values(&s))),
        };
        crate::balancer::Notes { first, last }
    }

    /// Each of [`Attempt::notes`] as key and value.
    pub fn for_each_note(&self, f: impl FnMut(&'static std::ffi::CStr, NoteValue<'_>)) {
        self.notes().for_each(f);
    }
}

fn sub(a: &std::sync::atomic::AtomicU64, v: u64) {
    use std::sync::atomic::Ordering;
    let _ = a.fetch_update(Ordering::AcqRel, Ordering::Acquire, |x| {
        Some(x.saturating_sub(v))
    });
}

impl<'b> Iterator for Attempt<'b> {
    type Item = Choice<'b>;

    fn next(&mut self) -> Option<Choice<'b>> {
        self.next_member()
    }
}

impl Drop for Attempt<'_> {
    /// A try still in flight when the request is abandoned releases its busy counters.
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            let b = self.bal;
            let slot = b.slot(p.index);
            slot.busy_dec(b.child());
            b.lb.busy_dec(b.child());
            if b.method() == LbMethod::Busyness {
                sub(slot.atomic(Field::LbValue), p.added_value);
            }
        }
    }
}
