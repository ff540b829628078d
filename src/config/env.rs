//! `${VAR}` expansion in URLs and `data_rules_seed`.
//!
//! Expansion runs on values already parsed from the TOML, never on the file's text, so that a TOML
//! error message, which quotes positions in that text, can never contain a secret.

use crate::engine::redact_unparsed;
use anyhow::{bail, Result};

/// Replaces every `${NAME}` with the environment variable NAME; an unset variable is an error
/// that names it.
pub fn expand_env(text: &str) -> Result<String> {
    expand(text, false).map(|(expanded, _)| expanded)
}

/// As [`expand_env`], but an unset variable is no error (for `list`, which connects to nothing):
/// `None` when one is not set.
pub(super) fn expand_env_if_set(text: &str) -> Result<Option<String>> {
    let (expanded, unset) = expand(text, true)?;
    Ok((!unset).then_some(expanded))
}

/// The expansion, and whether a variable was unset (only with `keep_unset`, which writes it back
/// as it was instead of failing).
fn expand(text: &str, keep_unset: bool) -> Result<(String, bool)> {
    let mut unset = false;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            bail!("unterminated ${{ in {:?}", redact_unparsed(text));
        };
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("invalid variable name ${{{name}}}");
        }
        match std::env::var(name) {
            Ok(value) => out.push_str(&value),
            Err(_) if keep_unset => {
                unset = true;
                out.push_str(&rest[start..start + 3 + end]);
            }
            Err(_) => bail!("environment variable {name} is not set"),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok((out, unset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_variables_are_named() {
        let err = expand_env("postgres://u:${DBDELTA_SURELY_UNSET}@h/db").unwrap_err();
        assert!(err.to_string().contains("DBDELTA_SURELY_UNSET"));
    }

    #[test]
    fn set_variables_are_replaced_and_the_rest_kept() {
        if let Ok(path) = std::env::var("PATH") {
            assert_eq!(expand_env("a${PATH}b").unwrap(), format!("a{path}b"));
        }
        assert_eq!(expand_env("no variables").unwrap(), "no variables");
        let err = expand_env("mysql://u:${OPEN@h/db").unwrap_err().to_string();
        assert!(err.contains("unterminated"), "{err}");
        assert!(expand_env("${A-B}").is_err());
        let kept = expand_env_if_set("postgres://${DBDELTA_SURELY_UNSET}/db").unwrap();
        assert_eq!(kept, None);
        assert_eq!(
            expand_env_if_set("plain").unwrap().as_deref(),
            Some("plain")
        );
        assert!(expand_env_if_set("${OPEN").is_err());
    }
}
