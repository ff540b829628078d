//! `dbdelta init`: writes a commented starter job file. Without a source it is a template; with
//! `--from URL` it lists the source's tables, each with the key a sync would use (tables without
//! one are written commented out, with what to do).
//!
//! Two promises: an existing file is never overwritten (it is opened with `create_new`, so not
//! even a file that appears meanwhile), and no password is ever written: a source password
//! becomes a `${DBDELTA_SOURCE_PASSWORD}` placeholder that `${VAR}` expansion fills at run time.

use crate::config::{expand_env, DbUrl, DEFAULT_CONNECT_TIMEOUT};
use crate::engine::Db;
use crate::schema::{usable_key, KeyOrigin};
use crate::words::counted;
use anyhow::{anyhow, Context, Result};
use std::io::Write;
use std::path::Path;

/// The environment variable that stands in for the source's password in a written file.
pub const SOURCE_PASSWORD_VARIABLE: &str = "DBDELTA_SOURCE_PASSWORD";

/// What `init` wrote, for the lines it prints.
#[derive(Debug, Default)]
pub struct Written {
    /// The tables came from a source (`--from`); otherwise the file is the template.
    pub from_source: bool,
    /// Tables written as active `[[tables]]` entries, with their key.
    pub keyed: usize,
    /// Tables written commented out: no usable key, or a name no job file can express.
    pub commented: usize,
    /// The source URL held a password, which the file replaces by the placeholder.
    pub password_replaced: bool,
}

/// Writes the starter job file at `path`, from the source at `from` if given (a URL as for a job
/// file; `${VAR}` is expanded to connect but written as it is).
pub async fn init(path: &Path, from: Option<&str>) -> Result<Written> {
    // Fail before connecting anywhere; `create_new` below keeps the promise against races.
    if path.exists() {
        return Err(already_exists(path));
    }
    let (text, written) = match from {
        None => (template(), Written::default()),
        Some(url) => from_source(url, path).await?,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => already_exists(path),
            _ => anyhow!(e).context(format!("cannot create {}", path.display())),
        })?;
    if let Err(e) = file.write_all(text.as_bytes()).and_then(|()| file.flush()) {
        // The file is ours and half written: leave nothing behind.
        let _ = std::fs::remove_file(path);
        return Err(anyhow!(e).context(format!("cannot write {}", path.display())));
    }
    Ok(written)
}

fn already_exists(path: &Path) -> anyhow::Error {
    anyhow!(
        "{} already exists; dbdelta init never overwrites a file: remove it, or name another \
         file with -c",
        path.display()
    )
}

/// One listed table and what the file says about it.
struct Entry {
    name: String,
    columns: usize,
    rows_estimate: Option<u64>,
    /// The key to write (`None`: the table has none and syncs as a multiset of whole rows), or
    /// why the entry is commented out.
    key: std::result::Result<Option<(Vec<String>, KeyOrigin)>, String>,
}

async fn from_source(raw_url: &str, path: &Path) -> Result<(String, Written)> {
    let (file_url, password_replaced) = without_password(raw_url);
    let expanded = expand_env(raw_url).context("--from")?;
    let url = DbUrl::parse(&expanded, Path::new(".")).context("--from")?;
    let db = Db::connect(&url, 2, false, DEFAULT_CONNECT_TIMEOUT)
        .await
        .with_context(|| format!("cannot connect to the source ({})", url.display))?;
    let entries = list_entries(&db).await;
    db.close().await;
    let entries = entries?;

    let source_url = match &url.sqlite_path {
        Some(file) => sqlite_url_for(path, &file_url, file),
        None => file_url,
    };
    let target_url = local_copy_url(&url, &source_url);
    let written = Written {
        from_source: true,
        keyed: entries.iter().filter(|e| e.key.is_ok()).count(),
        commented: entries.iter().filter(|e| e.key.is_err()).count(),
        password_replaced,
    };
    let text = render(&url, &source_url, &target_url, &entries, &written);
    Ok((text, written))
}

/// The source's tables with their keys, introspected as a sync would.
async fn list_entries(db: &Db) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for table in db.list_tables().await? {
        let nameable = !table.naming_conflict && table.name.trim() == table.name;
        let info = if nameable {
            db.table_info(&table.name).await?
        } else {
            None
        };
        let key = match &info {
            _ if !nameable => {
                Err("its name has a `.` or surrounding spaces, which a job file cannot name".into())
            }
            None => Err("not found under this name (is its schema on the search_path?)".into()),
            Some(info) => Ok(usable_key(info)),
        };
        entries.push(Entry {
            name: table.name,
            columns: info.as_ref().map_or(0, |i| i.columns.len()),
            rows_estimate: table.rows_estimate,
            key,
        });
    }
    Ok(entries)
}

fn render(
    url: &DbUrl,
    source_url: &str,
    target_url: &str,
    entries: &[Entry],
    written: &Written,
) -> String {
    let mut out = format!(
        "# dbdelta job file, written by `dbdelta init --from` from the source below.\n\
         # Check the [target] url below, then run `dbdelta check` and `dbdelta diff` before the\n\
         # first `dbdelta sync`. Every key is described in sync.toml.example and in the README.\n\
         \n\
         [source]\n\
         # The {} database whose tables are read; nothing is ever written to it.\n",
        url.engine
    );
    if written.password_replaced {
        out.push_str(&format!(
            "# The password is not stored in this file: set the environment variable\n\
             # {SOURCE_PASSWORD_VARIABLE} (percent-encoded if it contains characters such as @ : / ?).\n"
        ));
    }
    out.push_str(&format!(
        "url = {}\n\
         \n\
         [target]\n\
         # EDIT ME: the database whose tables are made equal to the source's. This placeholder is a\n\
         # local database that may not exist yet: create it (with the tables, or set\n\
         # create_missing = true below), or point at another one. A target that is not on this\n\
         # machine is refused unless allow_remote = true.\n\
         url = {}\n\
         # url = \"sqlite://copy.db\"\n\
         # allow_remote = false\n\
         \n\
         {DEFAULTS}\n",
        toml_string(source_url),
        toml_string(target_url)
    ));
    out.push_str(&format!(
        "# {} table(s) in the source; {} written commented out (the comment above each says why).\n\
         # `key` is the primary key, or a unique index whose columns are all NOT NULL; a table with\n\
         # neither is synced as a multiset of whole rows.\n",
        entries.len(),
        written.commented
    ));
    for entry in entries {
        out.push('\n');
        let mut about = Vec::new();
        if let Some(rows) = entry.rows_estimate {
            about.push(format!("~{} (estimate)", counted(rows, "row")));
        }
        if entry.columns > 0 {
            about.push(counted(entry.columns as u64, "column"));
        }
        if !about.is_empty() {
            out.push_str(&format!("# {}\n", about.join(", ")));
        }
        match &entry.key {
            Ok(None) => out.push_str(&format!(
                "# no primary key or unique NOT NULL index: synced as a multiset of whole rows\n\
                 # (or set key = […] to columns that identify a row)\n\
                 [[tables]]\nname = {}\n",
                toml_string(&entry.name)
            )),
            Ok(Some((key, origin))) => {
                let origin = match origin {
                    KeyOrigin::PrimaryKey => "primary key",
                    KeyOrigin::UniqueIndex => "unique index, NOT NULL",
                };
                out.push_str(&format!(
                    "[[tables]]\nname = {}\nkey = {}  # {origin}\n",
                    toml_string(&entry.name),
                    toml_key(key)
                ));
            }
            Err(why) => out.push_str(&format!(
                "# {why}\n# [[tables]]\n# name = {}\n",
                toml_string(&entry.name)
            )),
        }
    }
    out
}

/// `[defaults]` with every value commented out at its default, and a commented `[data_rules]`.
const DEFAULTS: &str = "\
[defaults]
# chunk_size = 10000       # approximate rows per chunk
# jobs = 4                 # chunks compared and copied at once
# create_missing = false   # create target tables that do not exist
# sequences = true         # advance target sequences past the copied keys after a sync
# defer_constraints = false  # one target transaction per run, foreign keys checked at commit
# disable_integrity = false  # foreign key checks off while writing

# Replace personal data while copying (README, \"Data rules\"): every rule is deterministic
# per row key and `data_rules_seed`, which goes at the very top of the file, before [source]:
#   data_rules_seed = \"${DBDELTA_SEED}\"
# [data_rules]
# email = \"unique_email\"
# \"*.ssn\" = \"null\"
";

/// The file written without `--from`: it parses as it is, so `dbdelta list` works on it.
fn template() -> String {
    format!(
        "\
# dbdelta job file: a starting point written by `dbdelta init`. Edit the two URLs and the tables,
# then run `dbdelta check`. `dbdelta init --from URL` lists a database's tables with their keys.
# Every key is described in sync.toml.example and in the README.

[source]
# The database whose tables are read; nothing is ever written to it:
#   postgres://user@host:5432/database    mysql://user@host:3306/database    sqlite://file.db
# Keep passwords out of this file: `${{NAME}}` is replaced by the environment variable NAME, as in
#   url = \"postgres://app:${{DBDELTA_SOURCE_PASSWORD}}@db.example.com:5432/app\"
url = \"postgres://app@db.example.com:5432/app\"

[target]
# The database whose tables are made equal to the source's. A target that is not on this
# machine is refused unless allow_remote = true.
url = \"postgres://app@127.0.0.1:5432/app_copy\"
# allow_remote = false

{DEFAULTS}
# One entry per table; tables that others reference are written first. `key` defaults to the
# source's primary key; set it to a unique NOT NULL column (or an array of columns) for a table
# without one.
[[tables]]
name = \"orders\"
# key = \"id\"
"
    )
}

/// The URL as the file writes it: a password (in the user part, or a `password` parameter)
/// replaced by `${DBDELTA_SOURCE_PASSWORD}`, unless it is a `${VAR}` placeholder already.
/// Returns whether anything was replaced.
fn without_password(url: &str) -> (String, bool) {
    let placeholder = format!("${{{SOURCE_PASSWORD_VARIABLE}}}");
    let is_placeholder = |s: &str| s.starts_with("${") && s.ends_with('}') && !s[2..].contains('{');
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), false);
    };
    let start = scheme_end + 3;
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let mut replaced = false;
    let mut out = url[..start].to_string();
    let authority = &rest[..authority_end];
    match authority.rfind('@').and_then(|at| {
        let userinfo = &authority[..at];
        userinfo.find(':').map(|colon| (colon, at))
    }) {
        Some((colon, at)) if at > colon + 1 && !is_placeholder(&authority[colon + 1..at]) => {
            out.push_str(&authority[..=colon]);
            out.push_str(&placeholder);
            out.push_str(&authority[at..]);
            replaced = true;
        }
        _ => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    out.push_str(path);
    if let Some(query) = query {
        let parameters: Vec<String> = query
            .split('&')
            .map(|parameter| match parameter.split_once('=') {
                Some((name, value))
                    if name.to_ascii_lowercase().contains("password")
                        && !value.is_empty()
                        && !is_placeholder(value) =>
                {
                    replaced = true;
                    format!("{name}={placeholder}")
                }
                _ => parameter.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&parameters.join("&"));
    }
    (out, replaced)
}

/// A SQLite source as the job file names it: relative paths in a job file are relative to the
/// file's folder, so a path given relative to the current folder is kept only when the file is
/// written there; otherwise the file gets the absolute path.
fn sqlite_url_for(job_path: &Path, given: &str, file: &Path) -> String {
    let in_current_folder = job_path
        .parent()
        .is_none_or(|folder| folder.as_os_str().is_empty());
    match file.canonicalize() {
        Ok(absolute) if !in_current_folder => format!("sqlite://{}", absolute.display()),
        _ => given.to_string(),
    }
}

/// A placeholder target: a local database of the source's engine named after the source's,
/// with `_copy` appended (a SQLite file beside the source's).
fn local_copy_url(source: &DbUrl, source_url: &str) -> String {
    if source.sqlite_path.is_some() {
        let path = source_url
            .strip_prefix("sqlite:")
            .map(|p| p.strip_prefix("//").unwrap_or(p))
            .unwrap_or(source_url);
        let path = Path::new(path.split('?').next().unwrap_or(path));
        let stem = path
            .file_stem()
            .map_or("source".into(), |s| s.to_string_lossy());
        let extension = path
            .extension()
            .map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
        let copy = path.with_file_name(format!("{stem}_copy{extension}"));
        return format!("sqlite://{}", copy.display());
    }
    // `display` is a parsed URL with the password masked: user, port and database are safe.
    match url::Url::parse(&source.display) {
        Ok(u) => {
            let user = match u.username() {
                "" => String::new(),
                name => format!("{name}@"),
            };
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let database = match u.path().trim_start_matches('/') {
                "" => "app",
                name => name,
            };
            format!("{}://{user}127.0.0.1{port}/{database}_copy", u.scheme())
        }
        Err(_) => "sqlite://copy.db".into(),
    }
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `"id"` for one column, `["a", "b"]` for several.
fn toml_key(columns: &[String]) -> String {
    match columns {
        [one] => toml_string(one),
        many => format!(
            "[{}]",
            many.iter()
                .map(|c| toml_string(c))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_become_a_placeholder() {
        assert_eq!(
            without_password("postgres://app:s3cr@t@db:5432/app?sslmode=require"),
            (
                "postgres://app:${DBDELTA_SOURCE_PASSWORD}@db:5432/app?sslmode=require".into(),
                true
            )
        );
        assert_eq!(
            without_password("mysql://u@h/db?password=x&ssl-mode=REQUIRED"),
            (
                "mysql://u@h/db?password=${DBDELTA_SOURCE_PASSWORD}&ssl-mode=REQUIRED".into(),
                true
            )
        );
        for kept in [
            "postgres://app@db/app",
            "postgres://app:${PW}@db/app",
            "sqlite://dir/a@b.db",
        ] {
            assert_eq!(without_password(kept), (kept.to_string(), false));
        }
    }

    #[test]
    fn toml_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(
            toml_string("Order \"Items\" ñ\\\t"),
            "\"Order \\\"Items\\\" ñ\\\\\\u0009\""
        );
        let parsed: toml::Value =
            toml::from_str(&format!("k = {}", toml_key(&["a\"b".into(), "c".into()]))).unwrap();
        assert_eq!(parsed["k"][0].as_str(), Some("a\"b"));
    }

    #[test]
    fn the_template_parses() {
        let job = crate::Job::parse(
            &template(),
            Path::new("/jobs/sync.toml"),
            &crate::Overrides::default(),
        )
        .unwrap();
        assert_eq!(job.tables[0].name, "orders");
        assert!(job.target.is_local());
    }

    #[test]
    fn the_placeholder_target_is_a_local_copy() {
        let pg = DbUrl::parse("postgres://app:pw@db.prod:6432/shop", Path::new(".")).unwrap();
        assert_eq!(
            local_copy_url(&pg, ""),
            "postgres://app@127.0.0.1:6432/shop_copy"
        );
        let lite = DbUrl::parse("sqlite://data/app.db", Path::new(".")).unwrap();
        assert_eq!(
            local_copy_url(&lite, "sqlite://data/app.db"),
            "sqlite://data/app_copy.db"
        );
    }
}
