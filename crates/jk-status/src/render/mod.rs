//! Output formats. Every format walks the same [`Doc`]: what a command shows, already
//! filtered by `sw` and the `opt` hiding bits.

pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod prom;
pub(crate) mod text;
pub(crate) mod xml;

use crate::config::StatusConfig;
use crate::model::{AjpSettings, AjpView, ErrorTime, LbView, MapView, MemberView, StatusModel};

/// One attribute value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum V {
    /// A string (TXT prints it bare).
    S(String),
    /// A string TXT prints in double quotes.
    Q(String),
    /// A number (decimal text).
    N(String),
    /// A boolean (`True`/`False` in XML/TXT/PROP).
    B(bool),
}

impl V {
    pub(crate) fn text(&self) -> String {
        match self {
            V::S(s) | V::Q(s) | V::N(s) => s.clone(),
            V::B(true) => "True".into(),
            V::B(false) => "False".into(),
        }
    }
}

pub(crate) fn s(v: &str) -> V {
    V::S(v.to_string())
}

pub(crate) fn q(v: &str) -> V {
    V::Q(v.to_string())
}

pub(crate) fn n(v: impl std::fmt::Display) -> V {
    V::N(v.to_string())
}

pub(crate) type Attrs = Vec<(&'static str, V)>;

/// Which format the attribute list is for (order and key spellings differ slightly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// XML and JSON: connection_ping_interval before retries.
    Xml,
    /// TXT: retries before connection_ping_interval.
    Txt,
    /// PROP: as TXT, members end at time_to_recover_max.
    Prop,
}

/// The header lines a command prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Header {
    /// update/reset/recover and errors: only the result.
    None,
    /// edit (non-HTML): server only.
    Server,
    /// list/show/version/dump: server, time, software.
    Full,
}

/// One lb worker as shown.
pub(crate) struct LbPart<'a> {
    pub lb: &'a LbView,
    /// Members shown (all, or the `sw` one); empty when hidden.
    pub members: Vec<&'a MemberView>,
    /// Maps shown; empty when hidden.
    pub maps: &'a [MapView],
}

/// What one response shows.
pub(crate) struct Doc<'a> {
    pub header: Header,
    /// `true` for list (wrappers with counts), `false` for show.
    pub wrapped: bool,
    pub lbs: Option<Vec<LbPart<'a>>>,
    pub ajps: Option<Vec<(&'a AjpView, &'a [MapView])>>,
    pub dump: Option<&'a [(String, String)]>,
    pub ok: bool,
    pub message: String,
}

impl Doc<'_> {
    pub(crate) fn error(message: &str) -> Doc<'static> {
        Doc {
            header: Header::None,
            wrapped: false,
            lbs: None,
            ajps: None,
            dump: None,
            ok: false,
            message: message.to_string(),
        }
    }

    pub(crate) fn ok(header: Header) -> Doc<'static> {
        Doc {
            header,
            wrapped: false,
            lbs: None,
            ajps: None,
            dump: None,
            ok: true,
            message: "Action finished".into(),
        }
    }

    pub(crate) fn result_type(&self) -> &'static str {
        if self.ok {
            "OK"
        } else {
            "ERROR"
        }
    }
}

pub(crate) fn server_attrs(m: &StatusModel) -> Attrs {
    vec![("name", s(&m.server_name)), ("port", n(m.server_port))]
}

pub(crate) fn time_attrs(m: &StatusModel) -> Attrs {
    vec![
        ("datetime", s(&m.time.datetime)),
        ("tz", s(&m.time.tz)),
        ("unix", n(m.time.unix)),
    ]
}

pub(crate) fn software_attrs(m: &StatusModel) -> Attrs {
    vec![
        ("web_server", q(&m.web_server)),
        ("jk_version", s(&m.jk_version)),
    ]
}

pub(crate) fn lb_attrs(cfg: &StatusConfig, lb: &LbView) -> Attrs {
    let (good, degraded, bad) = cfg.rate_all(&lb.members);
    vec![
        ("name", s(&lb.name)),
        ("type", s("lb")),
        ("sticky_session", V::B(lb.sticky_session)),
        ("sticky_session_force", V::B(lb.sticky_session_force)),
        ("retries", n(lb.retries)),
        ("recover_time", n(lb.recover_time)),
        ("error_escalation_time", n(lb.error_escalation_time)),
        ("max_reply_timeouts", n(lb.max_reply_timeouts)),
        ("method", s(lb.method.text())),
        ("lock", s(lb.lock.text())),
        ("member_count", n(lb.members.len())),
        ("good", n(good)),
        ("degraded", n(degraded)),
        ("bad", n(bad)),
        ("busy", n(lb.busy)),
        ("max_busy", n(lb.max_busy)),
        ("map_count", n(lb.maps.len())),
        ("time_to_maintenance_min", n(lb.time_to_maintenance_min)),
        ("time_to_maintenance_max", n(lb.time_to_maintenance_max)),
        ("last_reset_at", n(lb.last_reset_at)),
        ("last_reset_ago", n(lb.last_reset_ago)),
    ]
}

fn settings_attrs(a: &AjpSettings, flavor: Flavor, out: &mut Attrs) {
    out.extend([
        ("type", s(&a.worker_type)),
        ("host", s(&a.host)),
        ("port", n(a.port)),
        ("address", s(&a.address)),
        ("source", s(&a.source)),
        ("connection_pool_timeout", n(a.connection_pool_timeout)),
        ("ping_timeout", n(a.ping_timeout)),
        ("connect_timeout", n(a.connect_timeout)),
        ("prepost_timeout", n(a.prepost_timeout)),
        ("reply_timeout", n(a.reply_timeout)),
    ]);
    if flavor == Flavor::Xml {
        out.push(("connection_ping_interval", n(a.connection_ping_interval)));
        out.push(("retries", n(a.retries)));
    } else {
        out.push(("retries", n(a.retries)));
        out.push(("connection_ping_interval", n(a.connection_ping_interval)));
    }
    out.extend([
        ("recovery_options", n(a.recovery_options)),
        ("busy_limit", n(a.busy_limit)),
        ("max_packet_size", n(a.max_packet_size)),
    ]);
}

/// error_time_* attributes (XML/TXT/JSON spelling).
pub(crate) fn error_time_attrs(e: &Option<ErrorTime>, out: &mut Attrs) {
    if let Some(e) = e {
        out.extend([
            ("error_time_datetime", s(&e.datetime)),
            ("error_time_tz", s(&e.tz)),
            ("error_time_unix_seconds", n(e.unix)),
            ("error_time_ago", n(e.ago)),
        ]);
    }
}

/// error_time_* keys as mod_jk spells them in PROP (two contain a space).
pub(crate) fn error_time_prop(e: &Option<ErrorTime>) -> Attrs {
    e.as_ref()
        .map(|e| {
            vec![
                ("error_time_datetime", s(&e.datetime)),
                ("error_time_tz", s(&e.tz)),
                ("error_time_unix seconds", n(e.unix)),
                ("error_time_ago seconds", n(e.ago)),
            ]
        })
        .unwrap_or_default()
}

pub(crate) fn member_attrs(m: &MemberView, flavor: Flavor) -> Attrs {
    let mut a: Attrs = vec![("name", s(&m.name))];
    settings_attrs(&m.settings, flavor, &mut a);
    a.extend([
        ("activation", s(m.activation.text())),
        ("lbfactor", n(m.lbfactor)),
        ("route", q(&m.route)),
        ("redirect", q(&m.redirect)),
        ("domain", q(&m.domain)),
        ("distance", n(m.distance)),
        ("state", s(m.state.text())),
        ("lbmult", n(m.lbmult)),
        ("lbvalue", n(m.lbvalue)),
        ("elected", n(m.elected)),
        ("sessions", n(m.sessions)),
        ("errors", n(m.errors)),
        ("client_errors", n(m.client_errors)),
        ("reply_timeouts", n(m.reply_timeouts)),
        ("transferred", n(m.transferred)),
        ("read", n(m.read)),
        ("busy", n(m.busy)),
        ("max_busy", n(m.max_busy)),
        ("connected", n(m.connected)),
        ("max_connected", n(m.max_connected)),
        ("time_to_recover_min", n(m.time_to_recover_min)),
        ("time_to_recover_max", n(m.time_to_recover_max)),
    ]);
    if flavor != Flavor::Prop {
        a.push(("last_reset_at", n(m.last_reset_at)));
        a.push(("last_reset_ago", n(m.last_reset_ago)));
        error_time_attrs(&m.error_time, &mut a);
    }
    a
}

pub(crate) fn ajp_attrs(w: &AjpView, flavor: Flavor) -> Attrs {
    let mut a: Attrs = vec![("name", s(&w.name))];
    settings_attrs(&w.settings, flavor, &mut a);
    a.extend([
        ("used", n(w.used)),
        ("errors", n(w.errors)),
        ("client_errors", n(w.client_errors)),
        ("reply_timeouts", n(w.reply_timeouts)),
        ("transferred", n(w.transferred)),
        ("read", n(w.read)),
        ("busy", n(w.busy)),
        ("max_busy", n(w.max_busy)),
        ("connected", n(w.connected)),
        ("max_connected", n(w.max_connected)),
        ("map_count", n(w.maps.len())),
        ("last_reset_at", n(w.last_reset_at)),
        ("last_reset_ago", n(w.last_reset_ago)),
    ]);
    if flavor == Flavor::Prop {
        a.extend(error_time_prop(&w.error_time));
    } else {
        error_time_attrs(&w.error_time, &mut a);
    }
    a
}

/// Map attributes without `id`.
pub(crate) fn map_attrs(m: &MapView) -> Attrs {
    vec![
        ("server", q(&m.server)),
        ("uri", q(&m.uri)),
        ("type", q(&m.map_type)),
        ("source", q(&m.source)),
        ("reply_timeout", V::Q(m.reply_timeout.to_string())),
        ("sticky_ignore", V::Q(m.sticky_ignore.to_string())),
        ("stateless", V::Q(m.stateless.to_string())),
        ("fail_on_status", q(&m.fail_on_status)),
        ("active", q(&m.active)),
        ("disabled", q(&m.disabled)),
        ("stopped", q(&m.stopped)),
        ("use_server_errors", V::Q(m.use_server_errors.to_string())),
    ]
}
