//! One line from an error and its sources, `outer: inner: root`.
//!
//! Client libraries (hyper, tonic, tokio-postgres, reqwest) put the useful part — "connection
//! refused", "certificate expired" — in a source, which `Display` of the outer error leaves out.

/// `e` and its sources; a source whose text is already included is not repeated.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);

    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn sources_are_appended_once() {
        let e = E(
            "connect",
            Some(Box::new(E(
                "tcp: connection refused",
                Some(Box::new(E("connection refused", None))),
            ))),
        );
        assert_eq!(error_chain(&e), "connect: tcp: connection refused");
    }
}
