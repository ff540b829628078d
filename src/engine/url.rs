//! Where a database is: its engine and URL, with the password kept apart from what is shown.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// Which database product a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Postgres,
    MySql,
    Sqlite,
}

impl EngineKind {
    /// The TCP port a URL without one connects to; `None` for a file.
    pub fn default_port(self) -> Option<u16> {
        match self {
            EngineKind::Postgres => Some(5432),
            EngineKind::MySql => Some(3306),
            EngineKind::Sqlite => None,
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Postgres => "PostgreSQL",
            EngineKind::MySql => "MySQL/MariaDB",
            EngineKind::Sqlite => "SQLite",
        })
    }
}

/// A database location with its secret kept apart from what may be shown.
#[derive(Clone)]
pub struct DbUrl {
    pub engine: EngineKind,
    /// The URL to connect with, `${VAR}`s expanded; may contain a password, never print it.
    secret: String,
    /// The URL with any password replaced by `***`: the only form that appears in output.
    pub display: String,
    /// For SQLite, the database file, resolved against the job file's folder.
    pub sqlite_path: Option<PathBuf>,
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

impl DbUrl {
    /// Parses a URL as written in a job file (after `${VAR}` expansion). `base` is the folder that
    /// relative SQLite paths are relative to.
    pub fn parse(url: &str, base: &Path) -> Result<DbUrl> {
        let Some((scheme, rest)) = url.split_once(':') else {
            bail!(
                "database URL {} has no scheme: start it with postgres://, mysql://, mariadb:// or sqlite://",
                redact_unparsed(url)
            );
        };
        let scheme = scheme.to_ascii_lowercase();
        let engine = match scheme.as_str() {
            "postgres" | "postgresql" => EngineKind::Postgres,
            "mysql" | "mariadb" => EngineKind::MySql,
            "sqlite" => EngineKind::Sqlite,
            _ => bail!(
                "unsupported database URL scheme {:?}: use postgres://, mysql://, mariadb:// or sqlite://",
                scheme
            ),
        };
        if engine == EngineKind::Sqlite {
            let path_text = rest.strip_prefix("//").unwrap_or(rest);
            let path_text = path_text.split('?').next().unwrap_or_default();
            if path_text.is_empty() {
                bail!("SQLite URL {url:?} names no file: write sqlite://path/to/file.db");
            }
            let path = Path::new(path_text);
            let path = if path.is_absolute() {
                path.to_path_buf()
            } else {
                base.join(path)
            };
            return Ok(DbUrl {
                engine,
                secret: url.to_string(),
                display: format!("sqlite://{}", path.display()),
                sqlite_path: Some(path),
            });
        }
        // sqlx wants `mysql://`; accept the product name too.
        let normalized = match scheme.as_str() {
            "mariadb" => format!("mysql:{rest}"),
            _ => url.to_string(),
        };
        let mut parsed = url::Url::parse(&normalized)
            .map_err(|e| anyhow::anyhow!("invalid database URL {}: {e}", redact_unparsed(url)))?;
        if parsed.host_str().is_none() {
            bail!("database URL {} names no host", redact_unparsed(url));
        }
        if parsed.password().is_some() {
            // Cannot fail: the URL has a host, so it can carry credentials.
            let _ = parsed.set_password(Some("***"));
        }
        // Drivers also take a password as a parameter (`?password=…`, `?sslpassword=…`).
        let secret_parameter = |name: &str| name.to_ascii_lowercase().contains("password");
        if parsed
            .query_pairs()
            .any(|(name, _)| secret_parameter(&name))
        {
            let masked: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(name, value)| {
                    let value = if secret_parameter(&name) {
                        "***".into()
                    } else {
                        value.into_owned()
                    };
                    (name.into_owned(), value)
                })
                .collect();
            parsed.query_pairs_mut().clear().extend_pairs(masked);
        }
        Ok(DbUrl {
            engine,
            secret: normalized,
            display: parsed.to_string(),
            sqlite_path: None,
        })
    }

    /// A URL shown as written because a `${VAR}` in it is not set, for `dbdelta list`, which
    /// connects to nothing: never connected to. Its engine is the written scheme's; when the
    /// scheme itself is a variable, PostgreSQL's, whose string literals are standard SQL's.
    pub fn as_written(url: &str) -> DbUrl {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let engine = match scheme.as_deref() {
            Some("mysql" | "mariadb") => EngineKind::MySql,
            Some("sqlite") => EngineKind::Sqlite,
            _ => EngineKind::Postgres,
        };
        DbUrl {
            engine,
            secret: String::new(),
            display: redact_unparsed(url),
            sqlite_path: None,
        }
    }

    /// Whether the database is on this machine: a SQLite file, or a server at `localhost`,
    /// `127.0.0.0/8` or `::1`.
    pub fn is_local(&self) -> bool {
        if self.engine == EngineKind::Sqlite {
            return true;
        }
        let Ok(url) = url::Url::parse(&self.secret) else {
            return false;
        };
        // Database URL schemes are not "special" to the URL parser, so an IP address comes back
        // as a domain name and is parsed here.
        match url.host() {
            Some(url::Host::Domain(name)) => {
                let bare = name.trim_start_matches('[').trim_end_matches(']');
                name.eq_ignore_ascii_case("localhost")
                    || bare
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }

    /// Where the database is, for telling whether two URLs name the same one: engine, host (with
    /// `localhost` as `127.0.0.1`), port and database, or the SQLite file.
    pub fn location(&self) -> String {
        if let Some(path) = &self.sqlite_path {
            let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
            return format!("sqlite:{}", canonical.display());
        }
        match url::Url::parse(&self.secret) {
            Ok(u) => {
                let host = match u.host_str() {
                    Some(h) if h.eq_ignore_ascii_case("localhost") => "127.0.0.1".to_string(),
                    Some(h) => h.to_ascii_lowercase(),
                    None => String::new(),
                };
                let port = u.port().or(self.engine.default_port()).unwrap_or(0);
                format!("{:?}://{host}:{port}{}", self.engine, u.path())
            }
            Err(_) => self.display.clone(),
        }
    }

    /// The connection string, password included. Only the engine layer calls this.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
}

/// A URL that failed to parse may still hold a password: hide everything between `://` and `@`.
pub(crate) fn redact_unparsed(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            format!("{}://***@{}", &url[..start], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}
