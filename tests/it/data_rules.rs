//! Data rules: values replaced while copying, deterministic per key and seed, so that a second
//! `sync` compares equal and writes nothing. Every rule is applied to a users-like table and read
//! back from the target; a text-keyed table takes the hash-bucket path.

use crate::common::{dbdelta, dbdelta_json, describe, table_report, Conn, Engine, Pair};
use std::collections::HashSet;
use std::path::Path;

const ROWS: i64 = 50;

const RULES: &str = r#"
[data_rules]
email = "unique_email"
phone = "unique_phone"
"users.last_name" = { value = "Doe" }
"*.ssn" = "null"
born = "random_date"
age = { rule = "random_int", min = 18, max = 90 }
bio = { rule = "random_string", length = 16 }
secret = "hash"
"*note*" = "null"
"users.note" = "untouched"
"#;

const USERS: &str = "CREATE TABLE users (id integer PRIMARY KEY, email varchar(100), \
    phone varchar(30), last_name varchar(50), ssn varchar(20), born date, age integer, bio text, \
    secret varchar(100), note text)";
const ACCOUNTS: &str =
    "CREATE TABLE accounts (code varchar(20) NOT NULL PRIMARY KEY, email varchar(100), note text)";

/// Writes the job file: the seed (a top-level key, so before `[source]`), both URLs, the tables
/// and `rules`.
fn job_file(dir: &Path, source_url: &str, target_url: &str, seed: bool, rules: &str) {
    let seed = if seed {
        "data_rules_seed = \"test-seed\"\n"
    } else {
        ""
    };
    let text = format!(
        "{seed}[source]\nurl = \"{source_url}\"\n[target]\nurl = \"{target_url}\"\n\
         [[tables]]\nname = \"users\"\n[[tables]]\nname = \"accounts\"\n{rules}"
    );
    std::fs::write(dir.join("sync.toml"), text).expect("write job file");
}

async fn create_tables(source: &Conn, target: &Conn) {
    for conn in [source, target] {
        conn.exec(USERS).await;
        conn.exec(ACCOUNTS).await;
    }
    // The target insists on unique emails, although the source's repeat.
    target
        .exec("CREATE UNIQUE INDEX users_email ON users (email)")
        .await;
    target
        .exec("CREATE UNIQUE INDEX accounts_email ON accounts (email)")
        .await;
    let users: Vec<String> = (1..=ROWS)
        .map(|i| {
            format!(
                "({i}, 'person{}@corp.example', '+49 30 {i}', 'Smith{i}', '123-45-{i:04}', \
                 '1980-05-{:02}', {}, 'likes {i}', 'pw{}', 'note {i}')",
                i % 10,
                i % 28 + 1,
                20 + i,
                i % 5
            )
        })
        .collect();
    source
        .exec(&format!("INSERT INTO users VALUES {}", users.join(", ")))
        .await;
    let accounts: Vec<String> = (1..=ROWS)
        .map(|i| format!("('acct-{i}', 'shared@corp.example', 'account {i}')"))
        .collect();
    source
        .exec(&format!(
            "INSERT INTO accounts VALUES {}",
            accounts.join(", ")
        ))
        .await;
}

/// Every row of a table in key order, each column as text (NULL as `None`).
async fn read(
    conn: &Conn,
    engine: Engine,
    table: &str,
    columns: &[&str],
    key: &str,
) -> Vec<Vec<Option<String>>> {
    let list: Vec<String> = columns
        .iter()
        .map(|c| match engine {
            Engine::Postgres => format!("{c}::text"),
            Engine::MySql => format!("CAST({c} AS CHAR)"),
            Engine::Sqlite => format!("CAST({c} AS TEXT)"),
        })
        .collect();
    let rows = conn
        .rows(&format!(
            "SELECT {} FROM {table} ORDER BY {table}.{key}",
            list.join(", ")
        ))
        .await;
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                // SQLite read-backs are tagged with their storage class (`t:`).
                .map(|v| v.map(|t| t.strip_prefix("t:").map(str::to_string).unwrap_or(t)))
                .collect()
        })
        .collect()
}

const USER_COLUMNS: [&str; 10] = [
    "id",
    "email",
    "phone",
    "last_name",
    "ssn",
    "born",
    "age",
    "bio",
    "secret",
    "note",
];

async fn read_users(conn: &Conn, engine: Engine) -> Vec<Vec<Option<String>>> {
    read(conn, engine, "users", &USER_COLUMNS, "id").await
}

async fn read_accounts(conn: &Conn, engine: Engine) -> Vec<Vec<Option<String>>> {
    read(conn, engine, "accounts", &["code", "email", "note"], "code").await
}

fn text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("<NULL>")
}

/// Checks every rule's effect on the target's users against the source's.
fn check_users(source: &[Vec<Option<String>>], target: &[Vec<Option<String>>]) {
    assert_eq!(source.len(), target.len());
    let mut emails = HashSet::new();
    for (s, t) in source.iter().zip(target) {
        let id: i64 = text(&t[0]).parse().expect("integer id");
        assert_eq!(s[0], t[0]);
        assert_eq!(text(&t[1]), format!("user-{id}@example.com"));
        assert!(emails.insert(t[1].clone()), "duplicate email {:?}", t[1]);
        assert_eq!(text(&t[2]), format!("555{id:07}"));
        assert_eq!(text(&t[3]), "Doe");
        assert_eq!(t[4], None, "ssn is nulled");
        let born = text(&t[5]);
        assert!(
            born.len() == 10 && ("1970-01-02"..="2029-12-31").contains(&born),
            "born {born}"
        );
        let age: i64 = text(&t[6]).parse().expect("integer age");
        assert!((18..=90).contains(&age), "age {age}");
        let bio = text(&t[7]);
        assert!(
            bio.len() == 16
                && bio
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "bio {bio}"
        );
        let hash = text(&t[8]);
        assert!(
            hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "secret {hash}"
        );
        assert_ne!(s[8], t[8]);
        assert_eq!(s[9], t[9], "note is untouched");
    }
    // A hash depends on the value only: equal secrets hash equally, different ones differently.
    for (a_source, a_target) in source.iter().zip(target) {
        for (b_source, b_target) in source.iter().zip(target) {
            assert_eq!(a_source[8] == b_source[8], a_target[8] == b_target[8]);
        }
    }
    // Random rules vary from row to row.
    let ages: HashSet<_> = target.iter().map(|r| r[6].clone()).collect();
    assert!(ages.len() > 10, "ages {ages:?}");
}

fn check_accounts(target: &[Vec<Option<String>>]) {
    assert_eq!(target.len(), ROWS as usize);
    let mut emails = HashSet::new();
    for row in target {
        let email = text(&row[1]);
        let local = email
            .strip_prefix("user-")
            .and_then(|e| e.strip_suffix("@example.com"))
            .unwrap_or_else(|| panic!("email {email}"));
        assert!(local.len() == 16 && local.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(emails.insert(email.to_string()));
        assert_eq!(row[2], None, "`*note*` nulls accounts.note");
    }
}

fn sync(dir: &Path) -> serde_json::Value {
    let (code, report) = dbdelta_json(dir, &["sync", "--chunk-size", "10"]);
    assert_eq!(code, 0, "{report:#}");
    report
}

fn written(report: &serde_json::Value, table: &str) -> (u64, u64, u64) {
    let t = table_report(report, table);
    let n = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("{k} in {t:#}"));
    (n("inserted"), n("updated"), n("deleted"))
}

/// The whole story on one pair of databases; returns the target's users after the first sync.
async fn rules_story(
    dir: &Path,
    source: &Conn,
    source_engine: Engine,
    target: &Conn,
    target_engine: Engine,
) -> Vec<Vec<Option<String>>> {
    create_tables(source, target).await;

    let first = sync(dir);
    assert_eq!(written(&first, "users"), (ROWS as u64, 0, 0), "{first:#}");
    assert_eq!(
        written(&first, "accounts"),
        (ROWS as u64, 0, 0),
        "{first:#}"
    );
    let source_users = read_users(source, source_engine).await;
    let loaded = read_users(target, target_engine).await;
    check_users(&source_users, &loaded);
    check_accounts(&read_accounts(target, target_engine).await);

    // The rules give the same values again: nothing differs, nothing is written.
    let again = sync(dir);
    assert_eq!(written(&again, "users"), (0, 0, 0), "{again:#}");
    assert_eq!(written(&again, "accounts"), (0, 0, 0), "{again:#}");
    assert_eq!(table_report(&again, "users")["chunks_differing"], 0);
    let diff = dbdelta(dir, &["diff", "--chunk-size", "10"]);
    assert_eq!(diff.status.code(), Some(0), "{}", describe(&diff));

    // A change to a column without a rule is copied, and only that row is written; a change to a
    // column whose rule ignores the source value writes nothing.
    source
        .exec("UPDATE users SET note = 'changed' WHERE id = 7")
        .await;
    source
        .exec("UPDATE users SET last_name = 'Jones', ssn = '999' WHERE id = 9")
        .await;
    let report = sync(dir);
    assert_eq!(written(&report, "users"), (0, 1, 0), "{report:#}");
    let after = read_users(target, target_engine).await;
    let row7 = &after[6];
    assert_eq!(text(&row7[9]), "changed");
    assert_eq!(row7[..9], loaded[6][..9], "rule columns keep their values");

    // A changed value under `hash` changes its hash.
    source
        .exec("UPDATE users SET secret = 'new secret' WHERE id = 3")
        .await;
    let report = sync(dir);
    assert_eq!(written(&report, "users"), (0, 1, 0), "{report:#}");
    let after = read_users(target, target_engine).await;
    assert_ne!(after[2][8], loaded[2][8]);

    // Deterministic across runs: an emptied target is refilled with identical values.
    target.exec("DELETE FROM users").await;
    target.exec("DELETE FROM accounts").await;
    let accounts_before = read_accounts(source, source_engine).await.len();
    sync(dir);
    assert_eq!(read_users(target, target_engine).await, after);
    assert_eq!(
        read_accounts(target, target_engine).await.len(),
        accounts_before
    );
    let diff = dbdelta(dir, &["diff"]);
    assert_eq!(diff.status.code(), Some(0), "{}", describe(&diff));
    loaded
}

async fn same_engine(engine: Engine) -> Option<Vec<Vec<Option<String>>>> {
    let pair = Pair::new(engine).await?;
    job_file(
        pair.dir.path(),
        &pair.source_url,
        &pair.target_url,
        true,
        RULES,
    );
    let loaded = rules_story(pair.dir.path(), &pair.source, engine, &pair.target, engine).await;
    pair.cleanup().await;
    Some(loaded)
}

#[tokio::test]
async fn postgres_rules_apply_and_a_rerun_writes_nothing() {
    same_engine(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_rules_apply_and_a_rerun_writes_nothing() {
    same_engine(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_rules_apply_and_a_rerun_writes_nothing() {
    same_engine(Engine::Sqlite).await;
}

/// PostgreSQL → SQLite gives exactly the values SQLite → SQLite gives: the rules depend on the
/// seed, the table, the column and the key, not on the engines.
#[tokio::test]
async fn rules_give_the_same_values_across_engines() {
    let Some(pg) = Pair::new(Engine::Postgres).await else {
        return;
    };
    let lite = Pair::new(Engine::Sqlite).await.expect("SQLite pair");
    job_file(
        pg.dir.path(),
        &pg.source_url,
        &lite.target_url.replace(
            "sqlite://",
            &format!("sqlite://{}/", lite.dir.path().display()),
        ),
        true,
        RULES,
    );
    let across = rules_story(
        pg.dir.path(),
        &pg.source,
        Engine::Postgres,
        &lite.target,
        Engine::Sqlite,
    )
    .await;
    pg.cleanup().await;
    lite.cleanup().await;
    let within = same_engine(Engine::Sqlite).await.expect("SQLite pair");
    assert_eq!(across, within);
}

/// Runs `args` on a SQLite pair whose job file has `rules`, expecting exit 2 with `expected` on
/// stderr and an untouched target.
async fn refused(seed: bool, rules: &str, expected: &[&str]) {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite pair");
    job_file(
        pair.dir.path(),
        &pair.source_url,
        &pair.target_url,
        seed,
        rules,
    );
    create_tables(&pair.source, &pair.target).await;
    for command in ["sync", "diff", "check"] {
        let output = dbdelta(pair.dir.path(), &[command]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
        for part in expected {
            assert!(
                stderr.contains(part),
                "{part:?} missing:\n{}",
                describe(&output)
            );
        }
    }
    assert_eq!(pair.target.count("users").await, 0);
    pair.cleanup().await;
}

#[tokio::test]
async fn unknown_rules_are_refused_with_their_position() {
    // The job file's lines: seed, [source], url, [target], url, 2 × ([[tables]], name), blank,
    // [data_rules], then the rules.
    refused(
        true,
        "\n[data_rules]\nemail = \"unique_email\"\nphone = \"scramble\"\n",
        &["sync.toml:13:9", "unknown data rule \"scramble\""],
    )
    .await;
}

#[tokio::test]
async fn rules_on_key_columns_are_refused() {
    refused(
        true,
        "[data_rules]\n\"*id\" = \"null\"\n",
        &["table users, column \"id\"", "part of the key"],
    )
    .await;
}

#[tokio::test]
async fn rules_whose_output_the_column_cannot_hold_are_refused() {
    refused(
        true,
        "[data_rules]\nage = \"unique_email\"\n",
        &[
            "table users, column \"age\"",
            "rule unique_email",
            "writes text",
            "an integer column",
        ],
    )
    .await;
}

#[tokio::test]
async fn hash_without_a_seed_is_refused() {
    refused(
        false,
        "[data_rules]\nsecret = \"hash\"\n",
        &["sync.toml:10:1", "data_rules_seed"],
    )
    .await;
}

#[tokio::test]
async fn check_lists_the_rules_of_each_table() {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite pair");
    job_file(
        pair.dir.path(),
        &pair.source_url,
        &pair.target_url,
        true,
        &format!("{RULES}\"orders.total\" = \"null\"\n"),
    );
    create_tables(&pair.source, &pair.target).await;
    let output = dbdelta(pair.dir.path(), &["check"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        stderr.contains("data rules: email: unique_email, phone: unique_phone, last_name: value"),
        "{stderr}"
    );
    assert!(
        stderr.contains("data rules: email: unique_email, note: null"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: data rule `orders.total`")
            && stderr.contains("matches no column"),
        "{stderr}"
    );
    pair.cleanup().await;
}
