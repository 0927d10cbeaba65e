//! The layout of one mod_jk log line (1.2.48, no request id).

use crate::Level;
use std::fmt::Write as _;

/// mod_jk formats a line into a 1024-byte buffer; longer lines are cut and end in `...`.
/// Here the limit counts the whole line including its `\n`.
pub const MAX_LINE_BYTES: usize = 1024;

/// `<stamp>[<pid>:<tid>] [<level>] <function>::<file> (<line>): <msg>\n`, at most
/// [`MAX_LINE_BYTES`] bytes. Only the base name of `file` is printed, as mod_jk's `jk_log`
/// strips the directories of `__FILE__`.
#[allow(clippy::too_many_arguments)]
pub fn format_line(
    stamp: &str,
    pid: u32,
    tid: u64,
    level: Level,
    function: &str,
    file: &str,
    line: u32,
    msg: &str,
) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let mut out = String::with_capacity(stamp.len() + function.len() + msg.len() + 64);
    out.push_str(stamp);
    let _ = write!(
        out,
        "[{pid}:{tid}] [{level}] {function}::{base} ({line}): {msg}"
    );
    finish_line(out)
}

/// Caps `text` (a line without its newline) to [`MAX_LINE_BYTES`] on a character boundary and
/// appends the newline. Keeping every write at most 1024 bytes is also what keeps lines from
/// several processes whole in an `O_APPEND` file.
pub(crate) fn finish_line(mut text: String) -> String {
    if text.len() + 1 > MAX_LINE_BYTES {
        let mut cut = MAX_LINE_BYTES - "...\n".len();
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod_jk_example_line() {
        let line = format_line(
            "[Wed Nov 25 02:43:19.907 2026] ",
            12088,
            140_153_615_734_656,
            Level::Info,
            "init_jk",
            "native/apache-2.0/mod_jk.c",
            3572,
            "mod_jk/1.2.48 initialized",
        );
        assert_eq!(
            line,
            "[Wed Nov 25 02:43:19.907 2026] [12088:140153615734656] [info] \
             init_jk::mod_jk.c (3572): mod_jk/1.2.48 initialized\n"
        );
    }

    #[test]
    fn file_base_name_with_backslashes_and_without_directory() {
        let line = format_line("", 1, 2, Level::Error, "f", "src\\jk.c", 7, "m");
        assert_eq!(line, "[1:2] [error] f::jk.c (7): m\n");
        let line = format_line("", 1, 2, Level::Warn, "f", "jk.c", 7, "");
        assert_eq!(line, "[1:2] [warn] f::jk.c (7): \n");
    }

    #[test]
    fn line_of_exactly_the_limit_is_kept() {
        let fixed = format_line("", 1, 2, Level::Info, "f", "x.c", 3, "").len();
        let msg = "a".repeat(MAX_LINE_BYTES - fixed);
        let line = format_line("", 1, 2, Level::Info, "f", "x.c", 3, &msg);
        assert_eq!(line.len(), MAX_LINE_BYTES);
        assert!(line.ends_with("aa\n"));
    }

    #[test]
    fn long_lines_are_cut_with_dots() {
        let line = format_line("", 1, 2, Level::Info, "f", "x.c", 3, &"b".repeat(5000));
        assert_eq!(line.len(), MAX_LINE_BYTES);
        assert!(line.ends_with("bbb...\n"));
    }

    #[test]
    fn cut_respects_char_boundaries() {
        // 'é' is two bytes; the cut must not split one.
        let line = format_line("", 1, 2, Level::Info, "f", "x.c", 3, &"é".repeat(1000));
        assert!(line.len() <= MAX_LINE_BYTES);
        assert!(line.ends_with("é...\n"));
    }
}
