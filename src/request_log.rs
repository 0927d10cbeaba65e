//! The values of a handled request for `JkRequestLogFormat` (reference §9.3).

use crate::cstr::opt_str;
use crate::ffi;
use crate::request::Req;

pub struct Values {
    req: Req,
}

impl Values {
    pub fn new(req: Req) -> Values {
        Values { req }
    }
}

fn s(p: *const std::ffi::c_char) -> Option<String> {
    // SAFETY: request strings are NULL or NUL-terminated pool strings.
    unsafe { opt_str(p) }.map(|c| c.into_owned())
}

impl jk_log::RequestLogValues for Values {
    fn get(&self, code: char) -> Option<String> {
        let r = self.req.raw();
        // SAFETY: the request is live during log_transaction.
        let rec = unsafe { &*r };
        match code {
            'b' => (rec.sent_bodyct != 0).then(|| rec.bytes_sent.to_string()),
            'B' => Some(if rec.sent_bodyct != 0 {
                rec.bytes_sent.to_string()
            } else {
                "0".into()
            }),
            'H' => s(rec.protocol),
            'm' => s(rec.method),
            // SAFETY: live request.
            'p' => Some(unsafe { ffi::ap_get_server_port(r) }.to_string()),
            'q' => s(rec.args),
            'r' => s(rec.the_request),
            's' => (rec.status > 0).then(|| rec.status.to_string()),
            'T' => self.req.note(c"JK_REQUEST_DURATION"),
            'U' => s(rec.uri),
            // SAFETY: r->server is live.
            'v' => s(unsafe { (*rec.server).server_hostname }),
            // SAFETY: live request.
            'V' => s(unsafe { ffi::ap_get_server_name(r) }),
            'w' => self.req.note(c"JK_WORKER_NAME"),
            'R' => self.req.note(c"JK_WORKER_ROUTE"),
            _ => None,
        }
    }
}
