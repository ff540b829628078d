//! `${VAR}` expansion in URLs and `data_rules_seed`.
//!
//! Expansion runs on values already parsed from the TOML, never on the file's text, so that a TOML
//! error message, which quotes positions in that text, can never contain a secret.

use crate::engine::redact_unparsed;
use anyhow::{bail, Result};

/// Replaces every `${NAME}` with the environment variable NAME; an unset variable is an error
/// that names it.
pub fn expand_env(text: &str) -> Result<String> {
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
        let value = std::env::var(name)
            .map_err(|_| anyhow::anyhow!("environment variable {name} is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
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
    }
}
