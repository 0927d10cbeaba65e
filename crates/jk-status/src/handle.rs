//! The command flow of a status request.

use crate::changes::{
    ajp_changes, att_changes, lb_changes, member_changes, AjpChanges, LbChanges, MemberChanges,
    ATT_CODES,
};
use crate::config::StatusConfig;
use crate::membership::{
    add_target, added_message, parse_add, remove_force, removed_message, AddMember,
};
use crate::model::{AjpView, LbView, MemberState, MemberView, StatusModel};
use crate::query::{opt, parse_query, Command, Mime, Params};
use crate::render::{self, Doc, Header, LbPart};

/// Message texts of mod_jk 1.2.48.
pub mod msg {
    /// User not in the `user` list.
    pub const ACCESS_DENIED: &str = "Access denied.";
    /// Changing command in read-only mode.
    pub const READ_ONLY: &str = "This command is not allowed in read only mode.";
    /// Unknown `cmd`.
    pub const INVALID_COMMAND: &str = "Invalid command.";
    /// Unknown `mime`.
    pub const INVALID_MIME: &str = "Invalid mime type.";
    /// `w` missing or empty.
    pub const NO_WORKER: &str = "NULL or EMPTY worker param";
    /// `w` names no worker.
    pub const UNKNOWN_WORKER: &str = "Could not find given worker";
    /// `sw` empty.
    pub const NO_SUB_WORKER: &str = "EMPTY sub worker param";
    /// `sw` names no member.
    pub const UNKNOWN_SUB_WORKER: &str = "could not find sub worker";
    /// `sw` given for a worker without members.
    pub const NO_SUB_WORKERS: &str = "worker type has no sub workers";
    /// Command not available for this worker type.
    pub const NOT_IMPLEMENTED: &str = "worker type not implemented";
    /// Wildcard `sw` for a command other than update.
    pub const NO_WILDCARD: &str = "wildcard not allowed in sub worker for this command";
    /// recover of a member not in ERROR (or without `sw`).
    pub const RECOVER_FAILED: &str = "Marking worker for recovery failed";
    /// update of a worker type that cannot be updated.
    pub const UPDATE_FAILED: &str = "Update failed";
    /// Prefix of a (partially) failed update.
    pub const UPDATE_PARTIAL: &str = "Update failed (at least partially): ";
    /// The OK message.
    pub const OK: &str = "Action finished";
    /// Prefix of a change refused by [`super::Apply::may_write`] (mod_jk-rs: a write a
    /// browser sent from another site, or one without the token a status worker requires).
    pub const WRITE_REFUSED: &str = "Change refused: ";
    /// `cmd=add` without `host` (mod_jk-rs).
    pub const NO_HOST: &str = "NULL or EMPTY host param";
    /// `cmd=add` without `port` (mod_jk-rs).
    pub const NO_PORT: &str = "NULL or EMPTY port param";
    /// Prefix of an add the glue refused (mod_jk-rs).
    pub const ADD_FAILED: &str = "Adding the member failed: ";
    /// Prefix of a remove the glue refused (mod_jk-rs).
    pub const REMOVE_FAILED: &str = "Removing the member failed: ";
}

/// What the glue must do for changing commands. Every method returns `Err(text)` when the
/// change could not be made; the text ends up in the result message.
///
/// The responses of update/reset/recover contain only the result (and, in HTML, a
/// redirect back to the page), so the model is never needed again after a change: the
/// next request re-reads it.
pub trait Apply {
    /// Whether this request may change anything at all, asked once before any changing
    /// command (`edit`, `update`, `reset`, `recover`: [`Command::is_changing`]) is carried
    /// out; `Err(reason)` refuses it with [`msg::WRITE_REFUSED`] and the reason. The glue
    /// answers from [`crate::check_write`]'s verdict on where the request comes from.
    fn may_write(&self) -> Result<(), String> {
        Ok(())
    }
    /// Changes lb settings.
    fn update_lb(&mut self, lb: &str, changes: &LbChanges) -> Result<(), String>;
    /// Changes one member of lb `lb`.
    fn update_member(
        &mut self,
        lb: &str,
        member: &str,
        changes: &MemberChanges,
    ) -> Result<(), String>;
    /// Changes a standalone ajp worker.
    fn update_ajp(&mut self, worker: &str, changes: &AjpChanges) -> Result<(), String>;
    /// Resets statistics (§6.6): an lb with all its members, one member, or an ajp worker.
    fn reset(&mut self, worker: &str, member: Option<&str>) -> Result<(), String>;
    /// Marks ERROR member `member` of `lb` for recovery now.
    fn recover(&mut self, lb: &str, member: &str) -> Result<(), String>;
    /// `cmd=add` (mod_jk-rs runtime membership): adds member `spec` to lb `lb` in a free
    /// member slot (it enters as `joining`: readiness probes, then slow start). Returns the
    /// new member's name. The parameters were checked already (see [`crate::parse_add`]).
    fn add_member(&mut self, lb: &str, spec: &AddMember) -> Result<String, String> {
        let _ = (lb, spec);
        Err("not supported".into())
    }
    /// `cmd=remove` (mod_jk-rs runtime membership): removes member `member` of lb `lb`:
    /// drained first (no new sessions, sticky requests still served, until idle or the
    /// drain timeout; lifecycle `draining`), then its slot is freed; `force` frees it at
    /// once.
    fn remove_member(&mut self, lb: &str, member: &str, force: bool) -> Result<(), String> {
        let _ = (lb, member, force);
        Err("not supported".into())
    }
}

/// An [`Apply`] that refuses everything (for read-only glue and tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoApply;

impl Apply for NoApply {
    fn update_lb(&mut self, _: &str, _: &LbChanges) -> Result<(), String> {
        Err("not supported".into())
    }
    fn update_member(&mut self, _: &str, _: &str, _: &MemberChanges) -> Result<(), String> {
        Err("not supported".into())
    }
    fn update_ajp(&mut self, _: &str, _: &AjpChanges) -> Result<(), String> {
        Err("not supported".into())
    }
    fn reset(&mut self, _: &str, _: Option<&str>) -> Result<(), String> {
        Err("not supported".into())
    }
    fn recover(&mut self, _: &str, _: &str) -> Result<(), String> {
        Err("not supported".into())
    }
}

/// The response: HTTP status is always 200.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusResponse {
    /// Always 200 (mod_jk reports errors in the body).
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// Extra headers to set: `Cache-Control: no-cache`, `Pragma: no-cache`; for HTML also
    /// `X-Frame-Options: DENY` and `Content-Security-Policy` ([`HTML_CSP`]).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// `Some(message)` when the result is an error (for the glue's log).
    pub error: Option<String>,
}

/// mod_jk's `*`/`?` wildcard match.
pub fn wildcard_match(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// The worker a command addresses.
pub(crate) enum Target<'a> {
    /// An lb worker with the selected members (`None` = no `sw`).
    Lb(&'a LbView, Option<Vec<&'a MemberView>>),
    /// A standalone ajp worker.
    Ajp(&'a AjpView),
    /// A status worker.
    Status,
}

fn lookup<'a>(cmd: Command, params: &Params, model: &'a StatusModel) -> Result<Target<'a>, String> {
    let w = params.w().unwrap_or("");
    if w.is_empty() {
        return Err(msg::NO_WORKER.into());
    }
    let target = if let Some(lb) = model.lb(w) {
        Target::Lb(lb, None)
    } else if let Some(a) = model.ajp(w) {
        Target::Ajp(a)
    } else if model.status_workers.iter().any(|s| s == w) {
        Target::Status
    } else {
        return Err(msg::UNKNOWN_WORKER.into());
    };
    let Some(sw) = params.sw() else {
        return Ok(target);
    };
    if sw.is_empty() {
        return Err(msg::NO_SUB_WORKER.into());
    }
    let Target::Lb(lb, _) = target else {
        return Err(msg::NO_SUB_WORKERS.into());
    };
    let members: Vec<&MemberView> = if has_wildcard(sw) {
        if cmd != Command::Update {
            return Err(msg::NO_WILDCARD.into());
        }
        lb.members
            .iter()
            .filter(|m| wildcard_match(sw, &m.name))
            .collect()
    } else {
        lb.members.iter().filter(|m| m.name == sw).collect()
    };
    if members.is_empty() {
        return Err(msg::UNKNOWN_SUB_WORKER.into());
    }
    Ok(Target::Lb(lb, Some(members)))
}

/// Parses `query` and handles it; a bad %-escape is answered with mod_jk's error in the
/// format requested before the bad parameter.
pub fn handle_query(
    cfg: &StatusConfig,
    query: &str,
    remote_user: Option<&str>,
    model: &StatusModel,
    apply: &mut dyn Apply,
) -> StatusResponse {
    match parse_query(query) {
        Ok(p) => handle(cfg, &p, remote_user, model, apply),
        Err(e) => {
            let p = e.partial.unwrap_or_default();
            let mime = p.mime().unwrap_or(Mime::Prop);
            error_response(cfg, model, &p, mime, &e.message)
        }
    }
}

/// `Content-Security-Policy` of the HTML page (mod_jk-rs): no framing (clickjacking of its
/// buttons), no script but the page's own live charts (allowed by their hash: an injected
/// script does not run), no plugins, no `<base>`, forms only to this origin, and the charts'
/// polls only to this origin. Styles stay free: the page has inline `<style>`s and `css` may
/// name any URL.
pub const HTML_CSP: &str = concat!(
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'; ",
    "connect-src 'self'; script-src 'sha256-UWSuRJ5d3EZCm0Lj3H+ZIjMJohQy6FAQ0brMmq2aWKs='"
);

fn response(mime: Mime, body: String, error: Option<String>) -> StatusResponse {
    let mut headers: Vec<(String, String)> = vec![
        ("Cache-Control".into(), "no-cache".into()),
        ("Pragma".into(), "no-cache".into()),
    ];
    if mime == Mime::Html {
        headers.push(("X-Frame-Options".into(), "DENY".into()));
        headers.push(("Content-Security-Policy".into(), HTML_CSP.into()));
    }
    StatusResponse {
        status: 200,
        content_type: mime.content_type().into(),
        headers,
        body,
        error,
    }
}

fn render_doc(
    cfg: &StatusConfig,
    model: &StatusModel,
    params: &Params,
    mime: Mime,
    doc: &Doc<'_>,
    read_only: bool,
) -> StatusResponse {
    let body = match mime {
        Mime::Xml => render::xml::render(cfg, model, doc),
        Mime::Txt => render::text::render_txt(cfg, model, doc),
        Mime::Prop => render::text::render_prop(cfg, model, doc),
        Mime::Json => render::json::render(cfg, model, doc),
        Mime::Prometheus => render::prom::render(cfg, model, doc),
        Mime::Html => render::html::page(cfg, model, params, doc, read_only),
    };
    let err = (!doc.ok).then(|| doc.message.clone());
    response(mime, body, err)
}

/// The error response for `message` in format `mime`.
pub fn error_response(
    cfg: &StatusConfig,
    model: &StatusModel,
    params: &Params,
    mime: Mime,
    message: &str,
) -> StatusResponse {
    if mime == Mime::Html {
        let body = render::html::error_page(cfg, model, message);
        return response(mime, body, Some(message.into()));
    }
    render_doc(cfg, model, params, mime, &Doc::error(message), false)
}

/// Handles one status request (see the crate docs for the order of checks).
pub fn handle(
    cfg: &StatusConfig,
    params: &Params,
    remote_user: Option<&str>,
    model: &StatusModel,
    apply: &mut dyn Apply,
) -> StatusResponse {
    // Errors before the mime type is validated are printed as properties, as mod_jk does
    // for an unknown mime type.
    let mime_or_prop = params.mime().unwrap_or(Mime::Prop);
    if !cfg.user_allowed(remote_user) {
        return error_response(cfg, model, params, mime_or_prop, msg::ACCESS_DENIED);
    }
    let read_only = cfg.read_only || params.opt() & opt::READ_ONLY != 0;
    let command = params.command();
    if read_only && command.is_some_and(Command::is_changing) {
        return error_response(cfg, model, params, mime_or_prop, msg::READ_ONLY);
    }
    let Some(cmd) = command else {
        return error_response(cfg, model, params, mime_or_prop, msg::INVALID_COMMAND);
    };
    let Some(mime) = params.mime() else {
        return error_response(cfg, model, params, Mime::Prop, msg::INVALID_MIME);
    };
    let fail = |m: &str| error_response(cfg, model, params, mime, m);
    if cmd.is_changing() {
        if let Err(why) = apply.may_write() {
            return fail(&format!("{}{why}", msg::WRITE_REFUSED));
        }
    }
    let done = |header: Header| {
        if mime == Mime::Html && header == Header::None {
            let body = render::html::redirect_page(cfg, model, params);
            return response(mime, body, None);
        }
        render_doc(cfg, model, params, mime, &Doc::ok(header), read_only)
    };
    // A change whose result names what was done (add/remove): HTML shows it on the
    // redirect page, the other formats in the result message.
    let done_saying = |message: String| {
        if mime == Mime::Html {
            let body = render::html::redirect_page_saying(cfg, model, params, &message);
            return response(mime, body, None);
        }
        let mut doc = Doc::ok(Header::None);
        doc.message = message;
        render_doc(cfg, model, params, mime, &doc, read_only)
    };
    match cmd {
        Command::List => {
            let doc = list_doc(params, model);
            render_doc(cfg, model, params, mime, &doc, read_only)
        }
        Command::Version => done(Header::Full),
        Command::Dump => {
            let mut doc = Doc::ok(Header::Full);
            doc.dump = Some(&model.dump);
            render_doc(cfg, model, params, mime, &doc, read_only)
        }
        Command::Show => match lookup(cmd, params, model) {
            Err(e) => fail(&e),
            Ok(t) => {
                let doc = show_doc(params, t);
                render_doc(cfg, model, params, mime, &doc, read_only)
            }
        },
        Command::Edit => match lookup(cmd, params, model) {
            Err(e) => fail(&e),
            Ok(Target::Status) if mime == Mime::Html => fail(msg::NOT_IMPLEMENTED),
            Ok(t) if mime == Mime::Html => {
                response(mime, render::html::edit_page(cfg, model, params, &t), None)
            }
            Ok(_) => done(Header::Server),
        },
        Command::Update => match lookup(cmd, params, model) {
            Err(e) => fail(&e),
            Ok(t) => match update(params, t, apply) {
                Ok(()) => done(Header::None),
                Err(e) => fail(&e),
            },
        },
        Command::Reset => match lookup(cmd, params, model) {
            Err(e) => fail(&e),
            Ok(t) => {
                let r = match t {
                    Target::Lb(lb, None) => apply.reset(&lb.name, None),
                    Target::Lb(lb, Some(ms)) => ms
                        .iter()
                        .try_for_each(|m| apply.reset(&lb.name, Some(&m.name))),
                    Target::Ajp(a) => apply.reset(&a.name, None),
                    Target::Status => Err(msg::NOT_IMPLEMENTED.into()),
                };
                match r {
                    Ok(()) => done(Header::None),
                    Err(e) => fail(&e),
                }
            }
        },
        Command::Recover => match lookup(cmd, params, model) {
            Err(e) => fail(&e),
            Ok(Target::Lb(lb, Some(ms))) => {
                let ok = ms.len() == 1
                    && ms.iter().all(|m| m.state == MemberState::Error)
                    && ms.iter().all(|m| apply.recover(&lb.name, &m.name).is_ok());
                if ok {
                    done(Header::None)
                } else {
                    fail(msg::RECOVER_FAILED)
                }
            }
            Ok(_) => fail(msg::RECOVER_FAILED),
        },
        Command::Add => {
            let checked = add_target(params, model)
                .and_then(|lb| parse_add(params, lb, model).map(|spec| (lb, spec)));
            match checked {
                Err(e) => fail(&e),
                Ok((lb, spec)) => match apply.add_member(&lb.name, &spec) {
                    Ok(name) => done_saying(added_message(&lb.name, &name)),
                    Err(e) => fail(&format!("{}{e}", msg::ADD_FAILED)),
                },
            }
        }
        Command::Remove => match lookup(cmd, params, model) {
            Err(e) => fail(&e),
            Ok(Target::Lb(lb, Some(ms))) => {
                let force = remove_force(params);
                let mut r = Ok(());
                let mut names = Vec::new();
                for m in ms {
                    r = apply.remove_member(&lb.name, &m.name, force);
                    if r.is_err() {
                        break;
                    }
                    names.push(m.name.as_str());
                }
                match r {
                    Ok(()) => done_saying(removed_message(&lb.name, &names.join(","), force)),
                    Err(e) => fail(&format!("{}{e}", msg::REMOVE_FAILED)),
                }
            }
            Ok(Target::Lb(_, None)) => fail(msg::NO_SUB_WORKER),
            Ok(_) => fail(msg::NO_SUB_WORKERS),
        },
    }
}

fn lb_part<'a>(params: &Params, lb: &'a LbView, sel: Option<Vec<&'a MemberView>>) -> LbPart<'a> {
    let o = params.opt();
    LbPart {
        lb,
        members: if o & opt::NO_MEMBERS != 0 {
            Vec::new()
        } else {
            sel.unwrap_or_else(|| lb.members.iter().collect())
        },
        maps: if o & opt::NO_MAPS != 0 { &[] } else { &lb.maps },
    }
}

fn ajp_part<'a>(params: &Params, a: &'a AjpView) -> (&'a AjpView, &'a [crate::model::MapView]) {
    let maps: &[crate::model::MapView] = if params.opt() & opt::NO_MAPS != 0 {
        &[]
    } else {
        &a.maps
    };
    (a, maps)
}

fn list_doc<'a>(params: &Params, model: &'a StatusModel) -> Doc<'a> {
    let o = params.opt();
    let mut doc = Doc::ok(Header::Full);
    doc.wrapped = true;
    if o & opt::NO_LB == 0 && !model.lbs.is_empty() {
        doc.lbs = Some(
            model
                .lbs
                .iter()
                .map(|lb| lb_part(params, lb, None))
                .collect(),
        );
    }
    if o & opt::NO_AJP == 0 && !model.ajps.is_empty() {
        doc.ajps = Some(model.ajps.iter().map(|a| ajp_part(params, a)).collect());
    }
    doc
}

fn show_doc<'a>(params: &Params, t: Target<'a>) -> Doc<'a> {
    let o = params.opt();
    let mut doc = Doc::ok(Header::Full);
    match t {
        Target::Lb(lb, sel) if o & opt::NO_LB == 0 => {
            doc.lbs = Some(vec![lb_part(params, lb, sel)]);
        }
        Target::Ajp(a) if o & opt::NO_AJP == 0 => doc.ajps = Some(vec![ajp_part(params, a)]),
        _ => {}
    }
    doc
}

fn partial(e: String) -> String {
    format!("{}{e}", msg::UPDATE_PARTIAL)
}

fn update(params: &Params, t: Target<'_>, apply: &mut dyn Apply) -> Result<(), String> {
    match t {
        Target::Status => Err(msg::UPDATE_FAILED.into()),
        Target::Ajp(a) => {
            let (c, too_long) = ajp_changes(params, &a.name, &a.settings);
            if !c.is_empty() {
                apply.update_ajp(&a.name, &c).map_err(partial)?;
            }
            too_long.map_or(Ok(()), |e| Err(partial(e)))
        }
        Target::Lb(lb, Some(members)) => {
            for m in members {
                let (c, too_long) = member_changes(params, m);
                if !c.is_empty() {
                    apply
                        .update_member(&lb.name, &m.name, &c)
                        .map_err(partial)?;
                }
                if let Some(e) = too_long {
                    return Err(partial(e));
                }
            }
            Ok(())
        }
        Target::Lb(lb, None) => match params.att().filter(|a| !a.is_empty()) {
            Some(att) => {
                if !ATT_CODES.contains(&att) {
                    return Ok(());
                }
                for (i, m) in lb.members.iter().enumerate() {
                    let (c, too_long) = att_changes(params, att, i, m);
                    if !c.is_empty() {
                        apply
                            .update_member(&lb.name, &m.name, &c)
                            .map_err(partial)?;
                    }
                    if let Some(e) = too_long {
                        return Err(partial(e));
                    }
                }
                Ok(())
            }
            None => {
                let c = lb_changes(params, lb);
                if c.is_empty() {
                    return Ok(());
                }
                apply.update_lb(&lb.name, &c).map_err(partial)
            }
        },
    }
}
