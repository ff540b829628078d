//! `dbdelta init`: a starter job file listing the source's tables with the keys a sync uses
//! (keyless tables as multisets, without one), that parses, syncs once its target is set, never overwrites a
//! file and never contains a password.

use crate::common::{describe, Engine, Pair};
use std::path::Path;
use std::process::Output;

const PASSWORD: &str = "s3cret-init-pw";

/// Runs the binary in `dir`, with the source password in the environment the written file asks
/// for.
fn dbdelta(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dbdelta"))
        .args(args)
        .env("DBDELTA_SOURCE_PASSWORD", PASSWORD)
        .current_dir(dir)
        .output()
        .expect("run dbdelta")
}

fn quote(engine: Engine, name: &str) -> String {
    match engine {
        Engine::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

const AWKWARD: &str = "Order \"Items\" ñ";

/// The same tables on both sides: keyed, composite key, only a unique NOT NULL index (after a
/// nullable unique one), keyless, an awkward name, and a view; rows in the source only.
async fn create_tables(pair: &Pair) {
    let awkward = quote(pair.engine, AWKWARD);
    let id = quote(pair.engine, "ID");
    pair.exec_both(&format!(
        "CREATE TABLE keyed (id integer PRIMARY KEY, v varchar(40));
         CREATE TABLE composite (a integer NOT NULL, b varchar(20) NOT NULL, v varchar(40),
                                 PRIMARY KEY (a, b));
         CREATE TABLE coded (alt varchar(20), code varchar(20) NOT NULL, v varchar(40));
         CREATE UNIQUE INDEX a_alt ON coded (alt);
         CREATE UNIQUE INDEX b_code ON coded (code);
         CREATE TABLE keyless (msg varchar(40));
         CREATE TABLE {awkward} ({id} integer PRIMARY KEY, v varchar(40));
         CREATE VIEW keyed_view AS SELECT id FROM keyed;"
    ))
    .await;
    if pair.engine == Engine::Postgres {
        pair.exec_both("CREATE SCHEMA extra; CREATE TABLE extra.things (id integer PRIMARY KEY);")
            .await;
        pair.source
            .exec("INSERT INTO extra.things VALUES (1), (2)")
            .await;
    }
    pair.source
        .exec(&format!(
            "INSERT INTO keyed VALUES (1, 'one'), (2, 'two'), (3, 'three');
             INSERT INTO composite VALUES (1, 'x', 'a'), (1, 'y', 'b');
             INSERT INTO coded VALUES (NULL, 'c1', 'v1'), (NULL, 'c2', 'v2');
             INSERT INTO keyless VALUES ('hello');
             INSERT INTO {awkward} VALUES (7, 'seven');"
        ))
        .await;
}

/// The file with its [target] url replaced.
fn with_target(text: &str, target_url: &str) -> String {
    let target = text.find("\n[target]\n").expect("a [target] section");
    let line = target + text[target..].find("\nurl = ").expect("a target url") + 1;
    let end = line + text[line..].find('\n').expect("end of line");
    format!("{}url = \"{target_url}\"{}", &text[..line], &text[end..])
}

async fn init_lists_tables_and_syncs(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    create_tables(&pair).await;
    let dir = pair.dir.path();
    // PostgreSQL's test server trusts local connections, so any password gets in; on MySQL a
    // user with this password is made for the source database (and dropped at the end).
    let mut url = url::Url::parse(&pair.source_url).expect("source URL");
    let user = crate::common::unique_name("dd_init");
    if engine == Engine::MySql {
        let database = url.path().trim_start_matches('/').to_string();
        pair.source
            .exec(&format!(
                "CREATE USER '{user}'@'%' IDENTIFIED BY '{PASSWORD}';
                 GRANT ALL ON `{database}`.* TO '{user}'@'%';"
            ))
            .await;
        url.set_username(&user).expect("URL with a host");
    }
    let from = match engine {
        Engine::Sqlite => pair.source_url.clone(),
        _ => {
            url.set_password(Some(PASSWORD)).expect("URL with a host");
            url.to_string()
        }
    };
    let output = dbdelta(dir, &["init", "-c", "init.toml", "--from", &from]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = std::fs::read_to_string(dir.join("init.toml")).expect("init.toml written");
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(
        !describe(&output).contains(PASSWORD),
        "{}",
        describe(&output)
    );
    if engine != Engine::Sqlite {
        assert!(text.contains(":${DBDELTA_SOURCE_PASSWORD}@"), "{text}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("DBDELTA_SOURCE_PASSWORD"),
            "{}",
            describe(&output)
        );
    }

    let parsed: toml::Value = toml::from_str(&text).expect("the written file is TOML");
    let tables: Vec<(String, toml::Value)> = parsed["tables"]
        .as_array()
        .expect("[[tables]]")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or_default().to_string(),
                t.get("key")
                    .cloned()
                    .unwrap_or_else(|| toml::Value::String("(none)".into())),
            )
        })
        .collect();
    let key = |name: &str| {
        tables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| k.to_string())
            .unwrap_or_else(|| panic!("no table {name} in\n{text}"))
    };
    assert_eq!(key("keyed"), "\"id\"");
    assert_eq!(key("composite"), "[\"a\", \"b\"]");
    assert_eq!(key("coded"), "\"code\"");
    assert_eq!(key(AWKWARD), "\"ID\"");
    assert_eq!(key("keyless"), "\"(none)\"", "{text}");
    assert!(
        text.contains("no primary key or unique NOT NULL index: synced as a multiset"),
        "{text}"
    );
    let mut names: Vec<&str> = tables.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    let mut expected = vec![
        "Order \"Items\" ñ",
        "coded",
        "composite",
        "keyed",
        "keyless",
    ];
    if engine == Engine::Postgres {
        expected.push("extra.things");
        expected.sort();
    }
    assert_eq!(names, expected, "views are not listed");

    // Never overwritten.
    let output = dbdelta(dir, &["init", "-c", "init.toml", "--from", &from]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("already exists"),
        "{}",
        describe(&output)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("init.toml")).ok(),
        Some(text.clone())
    );

    let output = dbdelta(dir, &["list", "-c", "init.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(!describe(&output).contains(PASSWORD));

    std::fs::write(dir.join("job.toml"), with_target(&text, &pair.target_url)).expect("write");
    for command in ["check", "sync", "diff"] {
        let output = dbdelta(dir, &[command, "-c", "job.toml"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{command}: {}",
            describe(&output)
        );
        assert!(!describe(&output).contains(PASSWORD));
    }
    let awkward = quote(engine, AWKWARD);
    for select in [
        "SELECT CAST(id AS CHAR(10)), v FROM keyed ORDER BY id".to_string(),
        "SELECT CAST(a AS CHAR(10)), b, v FROM composite ORDER BY a, b".to_string(),
        "SELECT code, v FROM coded ORDER BY code".to_string(),
        format!("SELECT v FROM {awkward}"),
    ] {
        let rows = pair.source.rows(&select).await;
        assert!(!rows.is_empty(), "{select}");
        assert_eq!(rows, pair.target.rows(&select).await, "{select}");
    }
    let select = "SELECT msg FROM keyless";
    assert_eq!(
        pair.target.rows(select).await,
        pair.source.rows(select).await
    );
    if engine == Engine::MySql {
        pair.source.exec(&format!("DROP USER '{user}'@'%'")).await;
    }
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_source_tables_are_listed_with_their_keys() {
    init_lists_tables_and_syncs(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_source_tables_are_listed_with_their_keys() {
    init_lists_tables_and_syncs(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_source_tables_are_listed_with_their_keys() {
    init_lists_tables_and_syncs(Engine::Sqlite).await;
}

#[test]
fn without_a_source_writes_a_template_that_parses_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = dbdelta(dir.path(), &["init"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let text = std::fs::read_to_string(dir.path().join("sync.toml")).expect("sync.toml written");
    assert!(text.contains("[[tables]]"), "{text}");
    let output = dbdelta(dir.path(), &["list"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));

    std::fs::write(dir.path().join("sync.toml"), "mine\n").expect("write");
    let output = dbdelta(dir.path(), &["init"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sync.toml"))
            .ok()
            .as_deref(),
        Some("mine\n")
    );
}

#[test]
fn an_unreachable_source_writes_no_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = dbdelta(dir.path(), &["init", "--from", "sqlite://missing.db"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(!dir.path().join("sync.toml").exists());
}
