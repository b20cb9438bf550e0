//! The route table: which handler a method and path belong to.
//!
//! The edge layer asks [`Route::resolve`] and dispatches on the answer, so every URL the worker
//! answers is listed in [`TABLE`], in one place, and tested natively. Templates are matched
//! segment by segment; a `{name}` segment captures one non-empty path segment.

/// A request's destination, decided from its method and path alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`: bindings and their reachability.
    Healthz,
    /// The path is known but not for this method.
    MethodNotAllowed {
        /// Value for the `Allow` response header.
        allow: &'static str,
    },
    /// No route has this path.
    NotFound,
}

/// One path template the worker serves, the methods it accepts there, and how to build the
/// route from the captured segments (in template order).
struct Entry {
    template: &'static str,
    allow: &'static str,
    build: fn(Vec<String>) -> Route,
}

const TABLE: &[Entry] = &[Entry {
    template: "/healthz",
    allow: "GET, HEAD",
    build: |_| Route::Healthz,
}];

impl Route {
    /// Resolves `method` (upper case, as HTTP sends it) and `path` (without the query string).
    ///
    /// Paths are exact: `/healthz/` is not `/healthz`, because providers and operators are given
    /// exact URLs and a lenient match would hide a misconfiguration.
    pub fn resolve(method: &str, path: &str) -> Route {
        let Some((entry, captures)) = TABLE
            .iter()
            .find_map(|entry| match_template(entry.template, path).map(|c| (entry, c)))
        else {
            return Route::NotFound;
        };
        if entry.allow.split(", ").any(|allowed| allowed == method) {
            (entry.build)(captures)
        } else {
            Route::MethodNotAllowed { allow: entry.allow }
        }
    }
}

/// Matches `path` against `template`, returning the `{…}` captures, or `None` when it does not
/// match.
fn match_template(template: &str, path: &str) -> Option<Vec<String>> {
    let mut template_segments = template.split('/');
    let mut path_segments = path.split('/');
    let mut captures = Vec::new();
    loop {
        match (template_segments.next(), path_segments.next()) {
            (None, None) => return Some(captures),
            (Some(t), Some(p)) if t.starts_with('{') && t.ends_with('}') => {
                if p.is_empty() {
                    return None;
                }
                captures.push(p.to_owned());
            }
            (Some(t), Some(p)) if t == p => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthz_answers_get_and_head() {
        assert_eq!(Route::resolve("GET", "/healthz"), Route::Healthz);
        assert_eq!(Route::resolve("HEAD", "/healthz"), Route::Healthz);
    }

    #[test]
    fn healthz_refuses_other_methods_with_an_allow_list() {
        assert_eq!(
            Route::resolve("POST", "/healthz"),
            Route::MethodNotAllowed { allow: "GET, HEAD" }
        );
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in ["/", "/healthz/", "/HEALTHZ", "/nope", "", "/healthz/extra"] {
            assert_eq!(Route::resolve("GET", path), Route::NotFound, "{path:?}");
        }
    }

    #[test]
    fn templates_capture_segments_in_order() {
        assert_eq!(
            match_template("/a/{x}/b/{y}", "/a/1/b/2"),
            Some(vec!["1".to_owned(), "2".to_owned()])
        );
    }

    #[test]
    fn templates_refuse_empty_captures_and_extra_or_missing_segments() {
        assert_eq!(match_template("/a/{x}", "/a/"), None);
        assert_eq!(match_template("/a/{x}", "/a"), None);
        assert_eq!(match_template("/a/{x}", "/a/1/2"), None);
        assert_eq!(match_template("/a/{x}", "/b/1"), None);
    }
}
