//! The `--cmd` template: `{member}` and `{balancer}` are replaced by the names, quoted for
//! `sh` when they contain anything but letters, digits and `._-:@/+=,`.

/// Quotes `s` for `sh` unless it consists only of safe characters.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:@/+=,".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Replaces `{member}` and `{balancer}` in `template`.
pub fn render(template: &str, member: &str, balancer: &str) -> String {
    template
        .replace("{member}", &shell_quote(member))
        .replace("{balancer}", &shell_quote(balancer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_placeholder() {
        assert_eq!(
            render(
                "ssh {member} systemctl restart tomcat; echo {member}@{balancer}",
                "tomcat1",
                "lb"
            ),
            "ssh tomcat1 systemctl restart tomcat; echo tomcat1@lb"
        );
        assert_eq!(render("no placeholder", "t", "lb"), "no placeholder");
        assert_eq!(render("{Member} {member", "t", "lb"), "{Member} {member");
    }

    #[test]
    fn quotes_unsafe_names() {
        assert_eq!(shell_quote("tomcat-1.example"), "tomcat-1.example");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("x;rm -rf /"), "'x;rm -rf /'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(render("echo {member}", "$(id)", "lb"), "echo '$(id)'");
    }
}
