//! `jkctl`: the command-line tool of mod_jk-rs. It talks to the status worker
//! (`/jkmanager/`) over HTTP: reads `mime=json`, changes members with `cmd=update`
//! (`mime=txt` answers), adds and removes members at runtime with `cmd=add` / `cmd=remove`,
//! and builds drain, restart and rolling-restart procedures on top.
//!
//! The binary is a thin shell around [`cli::run`]; the pieces that decide things
//! (document parsing, member lookup, drain/ready criteria, command templating, the table)
//! are plain functions tested without a server.
//!
//! Credentials for the status worker (basic auth) come from the URL, `JKCTL_USER` /
//! `JKCTL_PASSWORD` or `--user` / `--password-file`; they are never printed ([`creds`]).

pub mod announce;
pub mod cli;
pub mod client;
pub mod creds;
pub mod criteria;
pub mod doc;
pub mod error;
pub mod lookup;
pub mod ops;
pub mod table;
pub mod template;
pub mod zk;

pub use error::Error;
