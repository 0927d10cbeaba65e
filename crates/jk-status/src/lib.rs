//! The status worker of mod_jk-rs (`/jkmanager`): a pure, I/O-free implementation of
//! mod_jk 1.2.48's status worker, with two extra formats (`mime=json`,
//! `mime=prometheus`) and an at-a-glance overview on the HTML page.
//!
//! # Use from the glue
//! 1. Build a [`StatusConfig`] from the status worker's properties ([`StatusConfig::set`]).
//! 2. For every request, fill a [`StatusModel`] from shared memory and the configuration
//!    (the good/degraded/bad counts are computed here from the members).
//! 3. Call [`handle_query`] (or [`parse_query`] + [`handle`]) with the request's
//!    `REMOTE_USER` and an [`Apply`] implementation that performs update/reset/recover.
//! 4. Send [`StatusResponse`]: status 200 always, its `content_type` and `headers`.
//!
//! Changes a browser was tricked into are refused: the glue builds a [`WriteOrigin`] from
//! the request (method, `Host`, `Sec-Fetch-Site`, `Origin`, `Referer`, the `token`
//! parameter) and answers [`Apply::may_write`] from [`check_write`]. The HTML page's
//! controls that change something are POST forms carrying [`StatusConfig::write_token`].
//!
//! # Runtime membership (mod_jk-rs)
//! `cmd=add&w=LB&host=H&port=P[&name=N][&route=R][&template=W]` and
//! `cmd=remove&w=LB&sw=M[&force=1]` are changing commands like update: refused in
//! read-only mode, subject to [`Apply::may_write`] (so to the token and POST when
//! `write_requires_token` is set), then checked here ([`parse_add`]: host, port 1-65535,
//! names and routes of at most 60 bytes of `A-Z a-z 0-9 _ -`, a name not in use, a free
//! member slot) and carried out by [`Apply::add_member`] / [`Apply::remove_member`]. The
//! OK message names the member ([`added_message`], [`removed_message`]). Members show
//! their `origin` and `lifecycle`, balancers their `member_slots`, in JSON, Prometheus and
//! HTML only: XML/TXT/PROP stay mod_jk's, where runtime members are simply members.
//!
//! Changing commands print only their result (HTML: a redirect back after 3 s), so the
//! model is never needed again after a change: the next request re-reads it. There is no
//! "re-read" callback.
//!
//! # Order of checks (mod_jk's)
//! user list ("Access denied.") → read-only (worker `read_only` or `opt` bit 0x20, for
//! edit/update/reset/recover: "This command is not allowed in read only mode.") → command
//! ("Invalid command.") → mime ("Invalid mime type.", printed as properties) → for
//! changing commands, [`Apply::may_write`] (mod_jk-rs: "Change refused: <reason>", from
//! [`check_write`]'s verdict on the request's origin and token) → worker lookup ("NULL or EMPTY worker param", "Could not find given worker",
//! "EMPTY sub worker param", "worker type has no sub workers",
//! "wildcard not allowed in sub worker for this command", "could not find sub worker").
//! Errors found before the mime type is validated are printed in the requested format
//! if it is valid, else as properties.
//!
//! # Update values
//! Integers use C `atoi` (garbage ⇒ 0) and are then range-checked; out-of-range or equal
//! values leave the field unchanged. Strings longer than 60 characters are refused with
//! "Update failed (at least partially): new route '…' too long for sub worker '…', see log
//! file for details." while the other values of the request are still applied.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod changes;
mod config;
mod guard;
mod handle;
mod membership;
mod model;
mod query;
mod render;

pub use changes::{
    ajp_changes, att_changes, lb_changes, member_changes, too_long_message, AjpChanges, LbChanges,
    MemberChanges, ATT_CODES, MAX_NAME_LEN,
};
pub use config::{parse_bool, rating_mask, Rating, StatusConfig};
pub use guard::{
    check_write, is_form_type, query_with_form, WriteOrigin, WriteVerdict, MAX_FORM_BYTES,
};
pub use handle::{
    error_response, handle, handle_query, msg, wildcard_match, Apply, NoApply, StatusResponse,
    HTML_CSP,
};
pub use membership::{
    added_message, check_host, check_member_name, check_port, parse_add, remove_force,
    removed_message, AddMember,
};
pub use model::{
    Activation, AjpSettings, AjpView, ErrorTime, HistogramView, LatencyView, LbLock, LbMethod,
    LbView, MapView, MemberState, MemberView, RegistryView, StatusModel, TimeView, JK_VERSION,
};
pub use query::{
    atoi, mask_xss, opt, parse_query, percent_decode, Command, Mime, Params, StatusError, ERR_URI,
};
pub use render::html::{
    esc as html_escape, human_size, member_health, LIVE_SCRIPT, LIVE_SCRIPT_HASH,
};
pub use render::json::push_json_string;
pub use render::prom::escape_label as prometheus_escape_label;
