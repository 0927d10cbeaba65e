//! What each failure class of a backend request means, in one table: the HTTP status the
//! client gets (reference §8.3), how the load balancer counts the try (§5.5), the statistics
//! class of a standalone ajp worker, the level of the log line, and whether the client's
//! connection is aborted. jk-ajp-client only classifies failures ([`ErrorKind`]); everything
//! that follows from a class is read here.

use jk_ajp_client::ErrorKind;
use jk_lb::Outcome;
use jk_log::Level;

use crate::ajp::Served;

/// How the client is answered after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The error status ([`Disposition::http_status`]); when part of the backend's answer
    /// already reached the client, only closing its connection is left.
    Status,
    /// The client itself failed: its connection is aborted, and the handler returns the
    /// status when it is an error status (≥ 400), else OK (as mod_jk's `jk_handler`).
    Abort,
}

/// Everything that follows from one [`ErrorKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disposition {
    /// The HTTP status mod_jk answers (200 for a client that went away: nothing more can be
    /// sent to it).
    pub http_status: u16,
    /// How the balancer counts the try on its member.
    pub outcome: Outcome,
    /// How a standalone ajp worker's statistics count the request.
    pub stats: Served,
    /// The level of the line logged for the failed request.
    pub level: Level,
    /// What the client gets.
    pub reply: Reply,
}

impl Disposition {
    /// What the handler returns after aborting the client's connection (`None`: OK).
    pub fn abort_status(self) -> Option<u16> {
        (self.http_status >= 400).then_some(self.http_status)
    }
}

const fn row(
    http_status: u16,
    outcome: Outcome,
    stats: Served,
    level: Level,
    reply: Reply,
) -> Disposition {
    Disposition {
        http_status,
        outcome,
        stats,
        level,
        reply,
    }
}

/// The table: one row per failure class.
pub const fn disposition(kind: ErrorKind) -> Disposition {
    use Level::{Error as E, Info as I};
    use Outcome::{ClientError as ClientErr, Failed, NoConnection as NoConn, ReplyTimeout as RT};
    use Reply::{Abort, Status};
    use Served::{ClientError as StClient, Error as StError, ReplyTimeout as StRT};
    match kind {
        ErrorKind::Disabled => row(503, Failed, StError, E, Status),
        ErrorKind::NoConnection => row(503, NoConn, StError, E, Status),
        ErrorKind::Connect => row(503, Failed, StError, E, Status),
        ErrorKind::Send => row(503, Failed, StError, E, Status),
        ErrorKind::BackendPaused => row(503, Failed, StError, E, Status),
        ErrorKind::FailOnStatus { hard } => {
            row(503, Outcome::FailOnStatus { hard }, StError, E, Status)
        }
        ErrorKind::ReplyTimeout => row(504, RT, StRT, E, Status),
        ErrorKind::BackendClosed => row(502, Failed, StError, E, Status),
        ErrorKind::ProtocolFraming => row(502, Failed, StError, E, Status),
        ErrorKind::ProtocolContent => row(500, Failed, StError, E, Status),
        ErrorKind::RequestTooLarge => row(413, ClientErr, StClient, E, Status),
        ErrorKind::ClientRead => row(400, ClientErr, StClient, I, Abort),
        ErrorKind::ClientWrite => row(200, ClientErr, StClient, I, Abort),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_row() {
        use Level::{Error as E, Info as I};
        use Reply::{Abort, Status};
        let hard = Outcome::FailOnStatus { hard: true };
        let soft = Outcome::FailOnStatus { hard: false };
        #[rustfmt::skip]
        let table = [
            (ErrorKind::Disabled, 503, Outcome::Failed, Served::Error, E, Status),
            (ErrorKind::NoConnection, 503, Outcome::NoConnection, Served::Error, E, Status),
            (ErrorKind::Connect, 503, Outcome::Failed, Served::Error, E, Status),
            (ErrorKind::Send, 503, Outcome::Failed, Served::Error, E, Status),
            (ErrorKind::BackendPaused, 503, Outcome::Failed, Served::Error, E, Status),
            (ErrorKind::FailOnStatus { hard: true }, 503, hard, Served::Error, E, Status),
            (ErrorKind::FailOnStatus { hard: false }, 503, soft, Served::Error, E, Status),
            (ErrorKind::ReplyTimeout, 504, Outcome::ReplyTimeout, Served::ReplyTimeout, E, Status),
            (ErrorKind::BackendClosed, 502, Outcome::Failed, Served::Error, E, Status),
            (ErrorKind::ProtocolFraming, 502, Outcome::Failed, Served::Error, E, Status),
            (ErrorKind::ProtocolContent, 500, Outcome::Failed, Served::Error, E, Status),
            (ErrorKind::RequestTooLarge, 413, Outcome::ClientError, Served::ClientError, E, Status),
            (ErrorKind::ClientRead, 400, Outcome::ClientError, Served::ClientError, I, Abort),
            (ErrorKind::ClientWrite, 200, Outcome::ClientError, Served::ClientError, I, Abort),
        ];
        for (kind, http_status, outcome, stats, level, reply) in table {
            let want = Disposition {
                http_status,
                outcome,
                stats,
                level,
                reply,
            };
            assert_eq!(disposition(kind), want, "{kind:?}");
        }
        // Every kind has a row: this match names each kind once (a new kind does not compile
        // until it is added here, and the count below until it has a row).
        let kinds: std::collections::HashSet<_> = table
            .iter()
            .map(|(kind, ..)| match kind {
                ErrorKind::Disabled
                | ErrorKind::NoConnection
                | ErrorKind::Connect
                | ErrorKind::Send
                | ErrorKind::ReplyTimeout
                | ErrorKind::BackendClosed
                | ErrorKind::ProtocolFraming
                | ErrorKind::ProtocolContent
                | ErrorKind::RequestTooLarge
                | ErrorKind::ClientRead
                | ErrorKind::ClientWrite
                | ErrorKind::BackendPaused
                | ErrorKind::FailOnStatus { .. } => std::mem::discriminant(kind),
            })
            .collect();
        assert_eq!(kinds.len(), 13);
    }

    #[test]
    fn an_aborted_client_gets_the_status_only_when_it_is_an_error() {
        assert_eq!(disposition(ErrorKind::ClientRead).abort_status(), Some(400));
        assert_eq!(disposition(ErrorKind::ClientWrite).abort_status(), None);
    }
}
