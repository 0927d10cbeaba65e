//! Finding the balancer of a member.

use crate::doc::{Balancer, Member, StatusDoc};
use crate::Error;

/// Finds member `member`, in balancer `balancer` when given, else in the only balancer
/// that has a member of that name. Returns the balancer's name and the member.
pub fn find_member<'d>(
    doc: &'d StatusDoc,
    member: &str,
    balancer: Option<&str>,
) -> Result<(&'d str, &'d Member), Error> {
    if let Some(lb) = balancer {
        let b = find_balancer(doc, lb)?;
        return match b.members.iter().find(|m| m.name == member) {
            Some(m) => Ok((&b.name, m)),
            None => {
                let all: Vec<&str> = b.members.iter().map(|m| m.name.as_str()).collect();
                Err(Error::Usage(format!(
                    "balancer {lb} has no member {member}{} (members: {})",
                    did_you_mean(member, &all),
                    names(all.iter())
                )))
            }
        };
    }
    let hits: Vec<(&str, &Member)> = doc
        .balancers
        .iter()
        .flat_map(|b| {
            b.members
                .iter()
                .filter(|m| m.name == member)
                .map(move |m| (b.name.as_str(), m))
        })
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => {
            let all = doc.balancers.iter().flat_map(|b| {
                b.members
                    .iter()
                    .map(move |m| format!("{}/{}", b.name, m.name))
            });
            let plain: Vec<&str> = doc
                .balancers
                .iter()
                .flat_map(|b| b.members.iter().map(|m| m.name.as_str()))
                .collect();
            Err(Error::Usage(format!(
                "no balancer has a member {member}{} (members: {})",
                did_you_mean(member, &plain),
                names(all)
            )))
        }
        many => Err(Error::Usage(format!(
            "member {member} is in several balancers, choose one with --balancer: {}",
            names(many.iter().map(|(lb, _)| *lb))
        ))),
    }
}

/// Finds balancer `name`.
pub fn find_balancer<'d>(doc: &'d StatusDoc, name: &str) -> Result<&'d Balancer, Error> {
    doc.balancer(name).ok_or_else(|| {
        let all: Vec<&str> = doc.balancers.iter().map(|b| b.name.as_str()).collect();
        Error::Usage(format!(
            "no balancer {name}{} (balancers: {})",
            did_you_mean(name, &all),
            names(all.iter())
        ))
    })
}

/// `; did you mean X?` when a known name is close to `word` (a typo), else nothing.
pub fn did_you_mean(word: &str, known: &[&str]) -> String {
    jk_config::attributes::nearest(word, known)
        .map(|n| format!("; did you mean {n}?"))
        .unwrap_or_default()
}

fn names<S: AsRef<str>>(it: impl Iterator<Item = S>) -> String {
    let v: Vec<String> = it.map(|s| s.as_ref().to_string()).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_name_suggests_the_nearest() {
        let d = StatusDoc::parse(
            r#"{"balancers":[{"name":"loadbalancer","members":[{"name":"tomcat1"},{"name":"tomcat2"}]}]}"#,
        )
        .expect("doc");
        let e = find_member(&d, "tomact1", None).expect_err("unknown");
        assert_eq!(e.exit_code(), 2);
        assert!(e.message().contains("did you mean tomcat1?"), "{e}");
        let e = find_member(&d, "tomcat3", Some("loadbalancer")).expect_err("unknown");
        assert!(e.message().contains("did you mean tomcat"), "{e}");
        let e = find_balancer(&d, "loadbalancr").expect_err("unknown");
        assert!(e.message().contains("did you mean loadbalancer?"), "{e}");
        // Nothing close: no guess.
        let e = find_member(&d, "x", None).expect_err("unknown");
        assert!(!e.message().contains("did you mean"), "{e}");
    }

    fn doc() -> StatusDoc {
        StatusDoc::parse(
            r#"{"balancers":[
              {"name":"lb1","members":[{"name":"t1"},{"name":"shared"}]},
              {"name":"lb2","members":[{"name":"t2"},{"name":"shared"}]}]}"#,
        )
        .expect("doc")
    }

    #[test]
    fn unique_member_without_balancer() {
        let d = doc();
        let (lb, m) = find_member(&d, "t2", None).expect("found");
        assert_eq!((lb, m.name.as_str()), ("lb2", "t2"));
    }

    #[test]
    fn ambiguous_member_lists_candidates() {
        let d = doc();
        let e = find_member(&d, "shared", None).expect_err("ambiguous");
        assert_eq!(e.exit_code(), 2);
        assert!(e.message().contains("lb1, lb2"), "{e}");
        let (lb, _) = find_member(&d, "shared", Some("lb2")).expect("explicit");
        assert_eq!(lb, "lb2");
    }

    #[test]
    fn unknown_member_or_balancer() {
        let d = doc();
        let e = find_member(&d, "nope", None).expect_err("unknown");
        assert!(e.message().contains("lb1/t1"), "{e}");
        let e = find_member(&d, "t1", Some("lb2")).expect_err("wrong lb");
        assert!(e.message().contains("members: t2, shared"), "{e}");
        let e = find_member(&d, "t1", Some("lb9")).expect_err("no lb");
        assert!(e.message().contains("balancers: lb1, lb2"), "{e}");
        let e = find_member(&StatusDoc::default(), "t1", None).expect_err("empty");
        assert!(e.message().contains("members: none"), "{e}");
    }
}
